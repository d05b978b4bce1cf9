-- schema [exec]
create schema if not exists "gold";

-- stage new rows [exec]
create or replace temp table "__lake_new__gold__i" as
select id, name, amount, day from "silver"."orders";

-- insert new keys [exec, rows]
insert into "gold"."i" ("id", "name", "amount", "day")
select "id", "name", "amount", "day" from "__lake_new__gold__i" as DBT_INTERNAL_SOURCE
where not exists (select 1 from (select t.* from "gold"."i" as t semi join "__lake_new__gold__i" as n on t."id" = n."id"
  union all select t.* from "gold"."i" as t where t."id" is null) as DBT_INTERNAL_DEST where DBT_INTERNAL_DEST."id" is not distinct from DBT_INTERNAL_SOURCE."id" and (DBT_INTERNAL_DEST.day >= date '2024-01-01'))
qualify row_number() over (partition by "id" order by "name", "amount", "day") = 1;

-- drop stage [exec]
drop table if exists "__lake_new__gold__i";
