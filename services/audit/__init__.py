"""The auditors' service: a case across every service, over HTTP."""
