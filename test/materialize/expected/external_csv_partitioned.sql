-- schema [exec]
create schema if not exists "gold";

-- drop old table [exec]
drop table "gold"."e";

-- copy [exec, rows]
copy (
select id, name, amount, day from "silver"."orders"
) to '/project/exports/orders' (format csv, partition_by ("day"), overwrite, header);

-- view over files [exec]
create or replace view "gold"."e" as select * from read_csv_auto('/project/exports/orders/**/*.csv', hive_partitioning = true, hive_types = {'day': DATE});
