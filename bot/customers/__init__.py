"""What parole keeps for a customer beyond one conversation: their data (/mydata, /forget) and the venues' news."""
