//! Which tools exist on this server (configured selection) and which a caller can use
//! (apps installed on the instance).

use rmcp::handler::server::router::tool::ToolRouter;

use super::NextcloudMcp;
use crate::apps;
use crate::config::ToolSelection;
use crate::tools::spec::ToolSpec;

#[derive(Debug, thiserror::Error)]
pub enum SelectionError {
    #[error(
        "unknown tool `{0}` in --tools/--exclude-tools; valid names are those tools/list shows without a selection"
    )]
    UnknownTool(String),
    #[error("tool `{0}` has no ToolSpec record (see tools::spec)")]
    Unclassified(String),
    #[error(transparent)]
    ToolIndex(#[from] super::discover::finder::FinderError),
}

/// Removes every tool the configuration does not select, so it is neither listed nor callable.
pub(super) fn apply(
    mut router: ToolRouter<NextcloudMcp>,
    selection: &ToolSelection,
) -> Result<ToolRouter<NextcloudMcp>, SelectionError> {
    let tools = router.list_all();
    for name in selection.only.iter().flatten().chain(&selection.exclude) {
        if !tools.iter().any(|t| t.name == name.as_str()) {
            return Err(SelectionError::UnknownTool(name.clone()));
        }
    }
    for tool in tools {
        let name = tool.name.as_ref();
        let spec = crate::tools::spec::of(name)
            .ok_or_else(|| SelectionError::Unclassified(name.into()))?;
        let (app, read_only) = (spec.app, spec.is_read_only());
        let keep = selection
            .enabled_apps
            .as_ref()
            .is_none_or(|apps| apps.contains(app.id))
            && (!selection.read_only || read_only)
            && selection
                .only
                .as_ref()
                .is_none_or(|only| only.contains(name))
            && !selection.exclude.contains(name);
        if !keep {
            router.remove_route(name);
        }
    }
    Ok(router)
}

/// The capability-less apps ([`nextcloud::ProbedApp`]) worth asking about: those with a
/// selected tool. The others are never probed, so a server without Mail tools does not list
/// anyone's mail accounts.
pub(crate) fn probed_apps(
    selection: &ToolSelection,
) -> std::collections::BTreeSet<nextcloud::ProbedApp> {
    nextcloud::ProbedApp::ALL
        .into_iter()
        .filter(|app| {
            let id = app.id();
            selection
                .enabled_apps
                .as_ref()
                .is_none_or(|apps| apps.contains(id))
                && selection.only.as_ref().is_none_or(|only| {
                    only.iter().any(|name| {
                        !selection.exclude.contains(name)
                            && crate::tools::spec::of(name).is_some_and(|s| s.app.id == id)
                    })
                })
        })
        .collect()
}

/// Whether the tool's app is installed, by the app's capability key, and new enough for the
/// tool (its record's `min_app_version`).
pub(super) fn app_available(spec: &ToolSpec, caps: &nextcloud::Capabilities) -> bool {
    match spec.app.capability {
        Some(key) => {
            caps.has(key)
                && spec.min_app_version.is_none_or(|min| {
                    caps.app(key)
                        .and_then(|c| c.get("version"))
                        .and_then(|v| v.as_str())
                        .is_some_and(|v| apps::version_at_least(v, min))
                })
        }
        None => true,
    }
}

/// Whether the tool's app announces the feature the tool needs (its record's `feature`) in
/// its capability's `features` list. True for tools that need none.
pub(super) fn feature_available(spec: &ToolSpec, caps: &nextcloud::Capabilities) -> bool {
    let (Some(feature), Some(key)) = (spec.feature, spec.app.capability) else {
        return true;
    };
    caps.app(key)
        .and_then(|c| c.get("features"))
        .and_then(|f| f.as_array())
        .is_some_and(|list| list.iter().any(|f| f.as_str() == Some(feature)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::spec::Effect;

    fn caps(spreed: serde_json::Value) -> nextcloud::Capabilities {
        let mut c = nextcloud::Capabilities::default();
        c.capabilities.insert("spreed".into(), spreed);
        c
    }

    #[test]
    fn a_feature_must_be_listed_by_the_app() {
        let plain = ToolSpec::new("t", &apps::TALK, Some("talk.read"), Effect::Read);
        let needs = plain.with_feature("reactions");
        let with = caps(serde_json::json!({"features": ["chat-v2", "reactions"]}));
        let without = caps(serde_json::json!({"features": ["chat-v2"]}));
        let malformed = caps(serde_json::json!({"features": "reactions"}));
        assert!(feature_available(&needs, &with));
        assert!(!feature_available(&needs, &without));
        assert!(!feature_available(&needs, &malformed));
        assert!(feature_available(&plain, &without));
        assert!(app_available(&needs, &without));
    }

    #[test]
    fn only_apps_with_a_selected_tool_are_probed() {
        use nextcloud::ProbedApp::{Collectives, Mail, News};
        let all = ToolSelection::default();
        assert_eq!(probed_apps(&all), [News, Collectives, Mail].into());
        let notes_and_news = ToolSelection {
            enabled_apps: Some(["notes".into(), "news".into()].into()),
            ..Default::default()
        };
        assert_eq!(probed_apps(&notes_and_news), [News].into());
        let one_mail_tool = ToolSelection {
            only: Some(["nc_mail_list_accounts".into(), "nc_notes_get_note".into()].into()),
            ..Default::default()
        };
        assert_eq!(probed_apps(&one_mail_tool), [Mail].into());
        let mail_excluded = ToolSelection {
            only: Some(["nc_mail_list_accounts".into()].into()),
            exclude: ["nc_mail_list_accounts".into()].into(),
            ..Default::default()
        };
        assert!(probed_apps(&mail_excluded).is_empty());
    }
}
