"""The attendance log in PostgreSQL, in parts; `store.PgStore` puts them together.

* `connection` - the pool, transactions and batches, the schema check at open
* `outbox`     - check-ins kept locally while the database is away, and the courier that sends them
* `listener`   - LISTEN/NOTIFY, the changes other stations make, the cache of sessions in view
* `queries`    - people, sessions, settings, audit, presence
* `checkins`   - check-ins and marks
* `templates`  - the gallery's templates shared by the stations
* `moving_in`  - a whole log copied into an empty database
* `rows`       - the selects, and rows to records
"""
