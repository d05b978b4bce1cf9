-- schema [exec]
create schema if not exists "gold";

-- stage the query [exec]
create or replace temp table "__lake_new__gold__s" as
select *, (id) as "__lake_key_1", (day) as "__lake_upd" from (
select id, name, amount, day from "silver"."orders"
) as __lake_snapshot_src;

-- check null keys [assert-empty]
-- message: gold.s: a row of the snapshot's query has a NULL unique_key (id)
select * exclude ("__lake_key_1", "__lake_upd") from "__lake_new__gold__s" where "__lake_key_1" is null limit 1;

-- check duplicate keys [assert-empty]
-- message: gold.s: the snapshot's query returns the same unique_key (id) more than once
select "__lake_key_1" as "id", count(*) as copies from "__lake_new__gold__s" group by all having count(*) > 1 limit 1;

-- first snapshot [exec]
create table "gold"."s" as
select * exclude ("__lake_key_1", "__lake_upd"), md5(coalesce(cast("__lake_key_1" as varchar), '') || '|' || coalesce(cast("__lake_upd" as varchar), '')) as "dbt_scd_id", "__lake_upd" as "dbt_updated_at", "__lake_upd" as "dbt_valid_from", nullif("__lake_upd", "__lake_upd") as "dbt_valid_to" from "__lake_new__gold__s";

-- count [count]
select count(*) as n from "gold"."s";

-- drop stage [exec]
drop table if exists "__lake_new__gold__s";
