"""The demo council (`make run`) and synthetic volume for measuring (`make bench`)."""
