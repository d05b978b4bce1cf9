/**
 * Fixed vocabularies for the generator: names, streets and US cities with a real ZIP code each.
 * Kept small and static so generated data is readable and the same on every machine.
 */

/** A city a user can live in; a gym is in one of these too. */
export interface City {
  readonly city: string;
  readonly state: string;
  readonly zip: number;
}

/** Cities in several states; ZIP codes without a leading zero, since the feed sends them as numbers. */
export const CITIES: readonly City[] = [
  { city: 'Los Angeles', state: 'CA', zip: 90018 },
  { city: 'Long Beach', state: 'CA', zip: 90815 },
  { city: 'Gardena', state: 'CA', zip: 90249 },
  { city: 'Sierra Madre', state: 'CA', zip: 91024 },
  { city: 'North Hollywood', state: 'CA', zip: 91606 },
  { city: 'Pearblossom', state: 'CA', zip: 93553 },
  { city: 'San Diego', state: 'CA', zip: 92101 },
  { city: 'Seattle', state: 'WA', zip: 98101 },
  { city: 'Tacoma', state: 'WA', zip: 98402 },
  { city: 'Portland', state: 'OR', zip: 97205 },
  { city: 'Austin', state: 'TX', zip: 78701 },
  { city: 'Houston', state: 'TX', zip: 77002 },
  { city: 'Denver', state: 'CO', zip: 80202 },
  { city: 'Chicago', state: 'IL', zip: 60601 },
  { city: 'Miami', state: 'FL', zip: 33101 },
  { city: 'Brooklyn', state: 'NY', zip: 11201 },
];

export const FIRST_NAMES_F: readonly string[] = [
  'Hannah', 'Emily', 'Sarah', 'Jessica', 'Olivia', 'Maria', 'Laura', 'Megan', 'Rachel', 'Grace',
  'Sofia', 'Chloe', 'Nina', 'Alice', 'Julia', 'Ruth',
];

export const FIRST_NAMES_M: readonly string[] = [
  'Justin', 'Matthew', 'Edward', 'Cameron', 'David', 'James', 'Daniel', 'Michael', 'Ryan', 'Kevin',
  'Lucas', 'Omar', 'Peter', 'Samuel', 'Thomas', 'Victor',
];

export const LAST_NAMES: readonly string[] = [
  'Fuller', 'Eaton', 'Johnson', 'Simpson', 'Vasquez', 'Smith', 'Garcia', 'Nguyen', 'Miller', 'Brown',
  'Davis', 'Lopez', 'Wilson', 'Moore', 'Taylor', 'Clark', 'Lewis', 'Walker', 'Young', 'King',
  'Wright', 'Hill', 'Green', 'Baker',
];

export const STREET_NAMES: readonly string[] = [
  'Obrien', 'Lori', 'Edward', 'Bradley', 'Noble', 'Gary', 'Maple', 'Cedar', 'Lakeview', 'Sunset',
  'Harbor', 'Willow', 'Aspen', 'Ridge', 'Mission', 'Palm',
];

export const STREET_SUFFIXES: readonly string[] = [
  'Streets', 'Plain', 'Throughway', 'Shoals', 'Cape', 'Ridges', 'Avenue', 'Road', 'Lane', 'Court',
];
