//! One module per kind of user.

pub mod audit;
pub mod donor;
pub mod draw;
pub mod export;
pub mod import;
pub mod keys;
pub mod submit;
