//! The intermediate representation: the only thing emitters see. Names are decided here.
pub mod types;
