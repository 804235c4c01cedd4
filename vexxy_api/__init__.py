"""vexxy's HTTP API: what customers and Stripe talk to. It writes and reads the application database only."""
