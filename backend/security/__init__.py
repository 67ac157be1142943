"""Security building blocks: encryption, passwords, canvas requests, tokens, headers, egress."""
