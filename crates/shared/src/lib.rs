//! hark's shared catalog for a team: one PostgreSQL database that every
//! workstation's indexer writes to and mirrors from (issue 13; being built).
