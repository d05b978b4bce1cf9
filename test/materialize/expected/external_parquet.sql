-- schema [exec]
create schema if not exists "gold";

-- copy [exec, rows]
copy (
select id, name, amount, day from "silver"."orders"
) to '/project/exports/orders.parquet' (format parquet);

-- view over files [exec]
create or replace view "gold"."e" as select * from read_parquet('/project/exports/orders.parquet');
