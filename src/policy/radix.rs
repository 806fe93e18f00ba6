//! A byte-wise radix tree for the ACL's longest-prefix lookups.

/// A byte-wise radix tree mapping prefixes to indices, for longest-prefix lookups in
/// O(key length). Iterative throughout, so deep trees (long chains of nested prefixes)
/// cannot overflow the stack.
#[derive(Default)]
pub(super) struct Radix {
    root: RadixNode,
}

#[derive(Default)]
struct RadixNode {
    value: Option<usize>,
    /// Sorted by the first byte of the (non-empty) label.
    edges: Vec<(Box<[u8]>, RadixNode)>,
}

impl Radix {
    /// The value slot for `key`, creating the nodes it needs.
    pub(super) fn slot(&mut self, mut key: &[u8]) -> &mut Option<usize> {
        let mut node = &mut self.root;
        loop {
            let Some(&first) = key.first() else {
                return &mut node.value;
            };
            match node
                .edges
                .binary_search_by(|(label, _)| label[0].cmp(&first))
            {
                Err(i) => {
                    node.edges.insert(i, (key.into(), RadixNode::default()));
                    return &mut node.edges[i].1.value;
                }
                Ok(i) => {
                    let (label, child) = &mut node.edges[i];
                    let common = label.iter().zip(key).take_while(|(a, b)| a == b).count();
                    if common < label.len() {
                        let tail: Box<[u8]> = label[common..].into();
                        let head: Box<[u8]> = label[..common].into();
                        let old = std::mem::take(child);
                        *child = RadixNode {
                            value: None,
                            edges: vec![(tail, old)],
                        };
                        *label = head;
                    }
                    key = &key[common..];
                    node = &mut node.edges[i].1;
                }
            }
        }
    }

    /// The longest stored key that is a prefix of `key`: (its length, its value).
    pub(super) fn longest_prefix(&self, key: &[u8]) -> Option<(usize, usize)> {
        let mut node = &self.root;
        let mut consumed = 0;
        let mut best = node.value.map(|v| (0, v));
        while let Some(&first) = key.get(consumed) {
            let Ok(i) = node
                .edges
                .binary_search_by(|(label, _)| label[0].cmp(&first))
            else {
                break;
            };
            let (label, child) = &node.edges[i];
            if !key[consumed..].starts_with(label) {
                break;
            }
            consumed += label.len();
            node = child;
            if let Some(v) = node.value {
                best = Some((consumed, v));
            }
        }
        best
    }
}

impl Drop for Radix {
    fn drop(&mut self) {
        let mut stack = std::mem::take(&mut self.root.edges);
        while let Some((_, mut node)) = stack.pop() {
            stack.append(&mut node.edges);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn radix_longest_prefix() {
        let mut radix = Radix::default();
        let keys = [
            "secret/",
            "secret/a",
            "secret/abc",
            "sys/",
            "s",
            "",
            "secret/ab/",
        ];
        for (i, key) in keys.iter().enumerate() {
            *radix.slot(key.as_bytes()) = Some(i);
        }
        let table: [(&str, Option<(usize, usize)>); 9] = [
            ("secret/abcd", Some((10, 2))),
            ("secret/ab", Some((8, 1))),
            ("secret/ab/x", Some((10, 6))),
            ("secret/", Some((7, 0))),
            ("secret", Some((1, 4))),
            ("sys/x", Some((4, 3))),
            ("sy", Some((1, 4))),
            ("x", Some((0, 5))),
            ("", Some((0, 5))),
        ];
        for (path, want) in table {
            assert_eq!(radix.longest_prefix(path.as_bytes()), want, "{path}");
        }
        // Re-inserting finds the same slot.
        assert_eq!(*radix.slot(b"secret/a"), Some(1));
    }

    #[test]
    fn deep_trees_answer_and_drop_without_recursion() {
        // A prefix index 100k levels deep (built directly: inserting such a chain costs
        // quadratic time) answers and drops without deep recursion.
        let depth = 100_000;
        let mut node = RadixNode {
            value: Some(depth),
            edges: Vec::new(),
        };
        for d in (0..depth).rev() {
            node = RadixNode {
                value: Some(d),
                edges: vec![(Box::from(&b"k"[..]), node)],
            };
        }
        let radix = Radix { root: node };
        let key = "k".repeat(depth);
        assert_eq!(
            radix.longest_prefix(format!("{key}zz").as_bytes()),
            Some((depth, depth))
        );
        assert_eq!(radix.longest_prefix(b"kkk"), Some((3, 3)));
        assert_eq!(radix.longest_prefix(b"x"), Some((0, 0)));
        drop(radix);
    }
}
