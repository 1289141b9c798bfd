"""State machines: one python-statemachine StateMachine per lifecycle. No Flask, no queries."""
