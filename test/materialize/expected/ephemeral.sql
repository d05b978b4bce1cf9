-- schema [exec]
create schema if not exists "gold";

-- drop stale temp [exec]
drop table if exists "gold"."report__lake_tmp";

-- build [exec]
create table "gold"."report__lake_tmp" as
with "__lake_eph__stg_orders" as (
select 1 as id, 'a' as name
)

select id, name from "__lake_eph__stg_orders";

-- count [count]
select count(*) as n from "gold"."report__lake_tmp";

-- swap [exec]
alter table "gold"."report__lake_tmp" rename to "report";
