-- schema [exec]
create schema if not exists "gold";

-- drop old table [exec]
drop table "gold"."v";

-- create view [exec]
create or replace view "gold"."v" as
select id, name, amount, day from "silver"."orders";
