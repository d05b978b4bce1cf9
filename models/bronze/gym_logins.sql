-- Raw rows of the relational extract, each new CSV file ingested once, with its origin
-- (_lake_file, _lake_line, _lake_batch).
select * from {{ source('relational', 'gym_logins') }}
