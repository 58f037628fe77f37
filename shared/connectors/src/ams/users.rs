//! PLACEHOLDER: `usersearch`, `groupmembers`, `listgroups`.
