//! Profiles: named presets of apps and modes (`--profile personal`), so a user picks a small,
//! fitting tool catalogue in one word instead of listing apps. They compose with the other
//! selection flags: a profile's apps are added to `--enable-app`'s, `read-only` adds to
//! `--read-only`, and `--tools` / `--exclude-tools` still narrow the result.

use std::collections::BTreeSet;

use clap::ValueEnum;

use crate::apps;
use crate::config::ToolSelection;

/// A named preset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum Profile {
    /// One person's own things: notes, files, calendar and tasks, contacts.
    Personal,
    /// Working together: Deck, Talk, Collectives, Tables.
    Team,
    /// Every selected tool that only reads; nothing can be changed.
    ReadOnly,
}

impl Profile {
    /// The apps the profile shows (ids as `--enable-app` takes them); `None` = it does not
    /// restrict apps.
    pub fn apps(self) -> Option<&'static [&'static str]> {
        match self {
            Profile::Personal => Some(&[
                apps::NOTES.id,
                apps::FILES.id,
                apps::CALENDAR.id,
                apps::CONTACTS.id,
            ]),
            Profile::Team => Some(&[
                apps::DECK.id,
                apps::TALK.id,
                apps::COLLECTIVES.id,
                apps::TABLES.id,
            ]),
            Profile::ReadOnly => None,
        }
    }

    /// Whether the profile hides every tool that changes something.
    pub fn read_only(self) -> bool {
        matches!(self, Profile::ReadOnly)
    }

    /// The name `--profile` takes.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Personal => "personal",
            Profile::Team => "team",
            Profile::ReadOnly => "read-only",
        }
    }
}

/// Adds the profiles to a selection made of the other flags: their apps join `--enable-app`'s
/// (when any profile restricts apps), and any read-only profile makes it read-only.
pub fn apply(profiles: &[Profile], mut selection: ToolSelection) -> ToolSelection {
    let restricting: Vec<&[&str]> = profiles.iter().filter_map(|p| p.apps()).collect();
    if !restricting.is_empty() {
        let mut apps: BTreeSet<String> = selection.enabled_apps.take().unwrap_or_default();
        apps.extend(
            restricting
                .iter()
                .flat_map(|a| a.iter())
                .map(|a| a.to_string()),
        );
        selection.enabled_apps = Some(apps);
    }
    selection.read_only |= profiles.iter().any(|p| p.read_only());
    selection
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_apps_are_known_apps() {
        for p in Profile::value_variants() {
            for app in p.apps().unwrap_or_default() {
                assert!(apps::app_by_id(app).is_some(), "{}: {app}", p.name());
            }
            assert_eq!(Profile::from_str(p.name(), false).as_ref(), Ok(p));
        }
    }

    #[test]
    fn profiles_compose_with_the_flags() {
        let s = apply(&[Profile::Personal], ToolSelection::default());
        let apps = s.enabled_apps.clone().unwrap();
        assert!(apps.contains("notes") && apps.contains("calendar") && !apps.contains("deck"));
        assert!(!s.read_only);

        let flags = ToolSelection {
            enabled_apps: Some(["deck".to_string()].into()),
            ..Default::default()
        };
        let s = apply(&[Profile::Personal, Profile::ReadOnly], flags);
        let apps = s.enabled_apps.unwrap();
        assert!(apps.contains("deck") && apps.contains("notes"));
        assert!(s.read_only);

        let s = apply(&[Profile::ReadOnly], ToolSelection::default());
        assert!(s.enabled_apps.is_none() && s.read_only);
    }
}
