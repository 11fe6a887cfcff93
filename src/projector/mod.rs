//! Projector control over PJLink. So far the protocol's text (greeting, password hash,
//! lenient replies); the client task per projector is still to come (issue 19).

pub mod protocol;
