"""Operations: what an operator reads and runs beside the product — the metrics of `/metrics`,
the event-loop watch, and the consistent online backup and its restore."""
