"""Templates and flows edited live: the override store, validation and previews, the texts in force for each venue, the
admins' web logins."""
