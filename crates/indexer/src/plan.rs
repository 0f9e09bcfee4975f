//! What a run is to do, decided before any sound file is opened: which
//! files to add, read again or embed, which missing files may have moved,
//! which to remove, and which roots look unmounted and keep their entries.
//!
//! A [`Survey`] gathers the facts (the catalog's files under each root and
//! what a walk of the root found); [`Plan::new`] decides from them alone,
//! without touching the disk or the catalog.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use hark_store::{FileId, FileState, Root, RootId};

use crate::prepare::{Kind, MissingByHash, Task};
use crate::walk::{under_any, Found, Walk};

/// The catalog's files and the walks' findings, root by root.
#[derive(Debug, Default)]
pub(crate) struct Survey {
    roots: Vec<Root>,
    /// What the catalog has, by path.
    known: HashMap<PathBuf, (RootId, FileState)>,
    /// What the walks found, by path, each under the deepest root.
    seen: HashMap<PathBuf, (RootId, Found)>,
    /// Folders a walk could not list: files under them are not known to be gone.
    unreadable: BTreeSet<PathBuf>,
    /// Roots whose folder is gone.
    absent: HashSet<RootId>,
}

impl Survey {
    /// A survey of `roots`, as the catalog lists them.
    pub(crate) fn new(roots: Vec<Root>) -> Survey {
        Survey {
            roots,
            ..Survey::default()
        }
    }

    /// The roots in the order to survey them, deepest first: a file under
    /// nested roots belongs to the deepest.
    pub(crate) fn deepest_first(&self) -> Vec<Root> {
        let mut roots = self.roots.clone();
        roots.sort_by_key(|r| std::cmp::Reverse(r.path.components().count()));
        roots
    }

    /// Adds a root's catalog files (`known`) and its walk, `None` when its
    /// folder is gone. Roots are added in [`Survey::deepest_first`] order.
    pub(crate) fn add_root(&mut self, root: RootId, known: Vec<FileState>, walk: Option<Walk>) {
        for state in known {
            self.known.insert(state.path.clone(), (root, state));
        }
        let Some(walk) = walk else {
            self.absent.insert(root);
            return;
        };
        self.unreadable.extend(walk.unreadable_dirs);
        for found in walk.files {
            self.seen.entry(found.path.clone()).or_insert((root, found));
        }
    }
}

/// A root whose missing files are kept, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeptRoot {
    /// Its folder is gone (an unmounted drive?).
    Absent {
        root: PathBuf,
        /// Entries kept.
        kept: usize,
    },
    /// More than half of its files are missing.
    MostlyMissing {
        root: PathBuf,
        missing: usize,
        known: usize,
    },
}

impl KeptRoot {
    /// The root's folder.
    pub(crate) fn root(&self) -> &Path {
        match self {
            KeptRoot::Absent { root, .. } | KeptRoot::MostlyMissing { root, .. } => root,
        }
    }
}

/// What a run is to do.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    /// Files to read: new, changed, or waiting for a vector; in path order,
    /// folder by folder, as a person would expect to see it go.
    pub tasks: Vec<Task>,
    /// Files found unchanged.
    pub unchanged: u64,
    /// Missing files by content hash: a new file with one of these hashes
    /// is that file moved.
    pub moves: MissingByHash,
    /// Missing files to remove unless they turn out to have moved: those of
    /// kept roots are not here.
    pub removals: Vec<FileId>,
    /// Roots whose missing files are kept, in the catalog's order.
    pub kept: Vec<KeptRoot>,
}

impl Plan {
    /// Decides what to do about what `survey` found. `needs_vector` holds
    /// the files that lack a vector from this run's model, `needs_fingerprint`
    /// those that lack a fingerprint of this version; `prune_missing`
    /// removes missing files even from a root that looks unmounted.
    pub(crate) fn new(
        survey: Survey,
        needs_vector: &HashSet<FileId>,
        needs_fingerprint: &HashSet<FileId>,
        prune_missing: bool,
    ) -> Plan {
        let mut plan = Plan::default();
        for (path, (root, found)) in &survey.seen {
            let kind = match survey.known.get(path) {
                None => Kind::New,
                Some((_, state))
                    if state.size != found.size || state.mtime_ns != found.mtime_ns =>
                {
                    Kind::Changed
                }
                Some((_, state)) if needs_vector.contains(&state.id) => Kind::Embed,
                Some((_, state)) if needs_fingerprint.contains(&state.id) => Kind::Fingerprint,
                Some(_) => {
                    plan.unchanged += 1;
                    continue;
                }
            };
            plan.tasks.push(Task {
                kind,
                root: *root,
                found: found.clone(),
            });
        }
        plan.tasks.sort_by(|a, b| a.found.path.cmp(&b.found.path));

        // Missing files, per root; a root that looks unmounted keeps them.
        let mut missing: Vec<(RootId, &FileState)> = Vec::new();
        let mut missing_per_root: HashMap<RootId, usize> = HashMap::new();
        let mut known_per_root: HashMap<RootId, usize> = HashMap::new();
        for (path, (root, state)) in &survey.known {
            *known_per_root.entry(*root).or_default() += 1;
            if !survey.seen.contains_key(path) && !under_any(path, &survey.unreadable) {
                *missing_per_root.entry(*root).or_default() += 1;
                missing.push((*root, state));
            }
        }
        missing.sort_by(|a, b| a.1.path.cmp(&b.1.path));
        let mut kept_ids = HashSet::new();
        for root in &survey.roots {
            let known = known_per_root.get(&root.id).copied().unwrap_or(0);
            let gone = missing_per_root.get(&root.id).copied().unwrap_or(0);
            let kept = if survey.absent.contains(&root.id) {
                KeptRoot::Absent {
                    root: root.path.clone(),
                    kept: known,
                }
            } else if gone * 2 > known && !prune_missing {
                KeptRoot::MostlyMissing {
                    root: root.path.clone(),
                    missing: gone,
                    known,
                }
            } else {
                continue;
            };
            kept_ids.insert(root.id);
            plan.kept.push(kept);
        }

        for (root, state) in missing {
            // A kept root's missing files may still be found moved.
            if let Some(hash) = &state.content_hash {
                plan.moves
                    .entry(hash.clone())
                    .or_default()
                    .push(state.clone());
            }
            if !kept_ids.contains(&root) {
                plan.removals.push(state.id);
            }
        }
        plan
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(id: i64, path: &str) -> Root {
        Root {
            id: RootId(id),
            path: PathBuf::from(path),
            added_at: 0,
        }
    }

    fn state(id: i64, path: &str, size: u64, hash: u8) -> FileState {
        FileState {
            id: FileId(id),
            path: PathBuf::from(path),
            size,
            mtime_ns: 1,
            content_hash: Some(vec![hash]),
        }
    }

    fn found(path: &str, size: u64) -> Found {
        Found {
            path: PathBuf::from(path),
            size,
            mtime_ns: 1,
        }
    }

    fn walk(files: Vec<Found>) -> Option<Walk> {
        Some(Walk {
            files,
            ..Walk::default()
        })
    }

    fn tasks(plan: &Plan) -> Vec<(&str, Kind)> {
        plan.tasks
            .iter()
            .map(|t| (t.found.path.to_str().unwrap(), t.kind))
            .collect()
    }

    #[test]
    fn new_changed_and_vectorless_files_are_read_in_path_order() {
        let mut survey = Survey::new(vec![root(1, "/lib")]);
        survey.add_root(
            RootId(1),
            vec![
                state(1, "/lib/same.wav", 10, 1),
                state(2, "/lib/grown.wav", 10, 2),
                state(3, "/lib/no vector.wav", 10, 3),
            ],
            walk(vec![
                found("/lib/same.wav", 10),
                found("/lib/grown.wav", 12),
                found("/lib/no vector.wav", 10),
                found("/lib/b new.wav", 5),
                found("/lib/a new.wav", 5),
            ]),
        );
        let plan = Plan::new(survey, &HashSet::from([FileId(3)]), &HashSet::new(), false);
        assert_eq!(
            tasks(&plan),
            [
                ("/lib/a new.wav", Kind::New),
                ("/lib/b new.wav", Kind::New),
                ("/lib/grown.wav", Kind::Changed),
                ("/lib/no vector.wav", Kind::Embed),
            ]
        );
        assert_eq!(plan.unchanged, 1);
        assert!(plan.removals.is_empty() && plan.moves.is_empty() && plan.kept.is_empty());
    }

    #[test]
    fn missing_files_are_removed_unless_moved_and_offered_as_moves() {
        let mut survey = Survey::new(vec![root(1, "/lib")]);
        survey.add_root(
            RootId(1),
            vec![
                state(1, "/lib/a.wav", 10, 1),
                state(2, "/lib/b.wav", 10, 2),
                state(3, "/lib/c.wav", 10, 3),
            ],
            walk(vec![found("/lib/a.wav", 10), found("/lib/b.wav", 10)]),
        );
        let plan = Plan::new(survey, &HashSet::new(), &HashSet::new(), false);
        assert_eq!(plan.removals, [FileId(3)]);
        assert_eq!(plan.moves[&vec![3]], [state(3, "/lib/c.wav", 10, 3)]);
        assert_eq!(plan.unchanged, 2);
    }

    #[test]
    fn a_root_that_looks_unmounted_keeps_its_files() {
        let mut survey = Survey::new(vec![root(1, "/gone"), root(2, "/half")]);
        survey.add_root(RootId(1), vec![state(1, "/gone/a.wav", 1, 1)], None);
        survey.add_root(
            RootId(2),
            vec![
                state(2, "/half/a.wav", 1, 2),
                state(3, "/half/b.wav", 1, 3),
                state(4, "/half/c.wav", 1, 4),
            ],
            walk(vec![found("/half/a.wav", 1)]),
        );
        let plan = Plan::new(survey, &HashSet::new(), &HashSet::new(), false);
        assert_eq!(
            plan.kept,
            [
                KeptRoot::Absent {
                    root: "/gone".into(),
                    kept: 1
                },
                KeptRoot::MostlyMissing {
                    root: "/half".into(),
                    missing: 2,
                    known: 3
                },
            ]
        );
        assert!(plan.removals.is_empty());
        // Kept files can still be claimed by a move.
        assert_eq!(plan.moves.len(), 3);
    }

    #[test]
    fn pruning_removes_a_mostly_missing_root_s_files_but_not_an_absent_one_s() {
        let mut survey = Survey::new(vec![root(1, "/gone"), root(2, "/half")]);
        survey.add_root(RootId(1), vec![state(1, "/gone/a.wav", 1, 1)], None);
        survey.add_root(
            RootId(2),
            vec![state(2, "/half/a.wav", 1, 2), state(3, "/half/b.wav", 1, 3)],
            walk(vec![]),
        );
        let plan = Plan::new(survey, &HashSet::new(), &HashSet::new(), true);
        assert_eq!(plan.kept.len(), 1);
        assert_eq!(plan.kept[0].root(), Path::new("/gone"));
        assert_eq!(plan.removals, [FileId(2), FileId(3)]);
    }

    #[test]
    fn files_under_an_unreadable_folder_are_not_missing() {
        let mut survey = Survey::new(vec![root(1, "/lib")]);
        survey.add_root(
            RootId(1),
            vec![
                state(1, "/lib/locked/a.wav", 1, 1),
                state(2, "/lib/b.wav", 1, 2),
                state(3, "/lib/c.wav", 1, 3),
            ],
            Some(Walk {
                files: vec![found("/lib/b.wav", 1), found("/lib/c.wav", 1)],
                unreadable_dirs: BTreeSet::from([PathBuf::from("/lib/locked")]),
                ..Walk::default()
            }),
        );
        let plan = Plan::new(survey, &HashSet::new(), &HashSet::new(), false);
        assert!(plan.removals.is_empty() && plan.moves.is_empty());
        assert_eq!(plan.unchanged, 2);
    }

    #[test]
    fn a_file_under_nested_roots_belongs_to_the_deepest() {
        let mut survey = Survey::new(vec![root(1, "/lib"), root(2, "/lib/sub")]);
        let order: Vec<RootId> = survey.deepest_first().iter().map(|r| r.id).collect();
        assert_eq!(order, [RootId(2), RootId(1)]);
        survey.add_root(RootId(2), vec![], walk(vec![found("/lib/sub/a.wav", 1)]));
        survey.add_root(
            RootId(1),
            vec![],
            walk(vec![found("/lib/sub/a.wav", 1), found("/lib/b.wav", 1)]),
        );
        let plan = Plan::new(survey, &HashSet::new(), &HashSet::new(), false);
        let roots: Vec<(&str, RootId)> = plan
            .tasks
            .iter()
            .map(|t| (t.found.path.to_str().unwrap(), t.root))
            .collect();
        assert_eq!(
            roots,
            [("/lib/b.wav", RootId(1)), ("/lib/sub/a.wav", RootId(2))]
        );
    }
}
