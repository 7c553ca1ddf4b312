"""The ops console: a server-rendered web app for ops teams and billing staff.

It reads the services only over their HTTP APIs (with the signed-in user's token, so tenant and scopes
are the services' own decisions) and their `/metrics`, the dead-letter topics over Kafka, and the
analytics feed's Parquet files through `analytics/kpis.sql`. It imports no service code.
"""
