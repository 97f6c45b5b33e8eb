"""Where customers talk to parole: one folder per channel, each turning its updates into the conversation's events and
rendering its messages."""
