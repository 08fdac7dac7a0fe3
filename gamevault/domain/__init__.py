"""Pure domain logic: decisions from (state, command), no I/O. Agents and routes are its adapters."""
