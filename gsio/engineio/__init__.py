"""The pure Engine.IO v4 core: packets, payloads and session state. No I/O."""
