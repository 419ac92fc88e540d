"""Forms check the shape of input; the services enforce the rules."""
