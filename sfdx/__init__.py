"""Salesforce DX tooling: package scripts and the localorg emulator."""
