-- schema [exec]
create schema if not exists "gold";

-- append [exec, rows]
insert into "gold"."i" ("id", "name", "amount", "day")
select "id", "name", "amount", "day" from (
select id, name, amount, day from "silver"."orders"
) as __lake_src;
