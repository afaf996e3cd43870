//! Local full-text indexes, kept per user so searches do not download everything each time.

mod notes_index;

pub use notes_index::{IndexError, NoteHit, NotesIndex};
