"""Services around the models: the clock, mail, reminders, accounts and report figures."""
