use std::collections::HashMap;

use super::*;
use crate::hash::{empty_root, leaf_hash};
use crate::proof::{verify_consistency, verify_inclusion};

/// A tree held in memory, built through [`Frontier::append`] like the log builds it.
struct Mem {
    hashes: HashMap<NodeId, Hash>,
    roots: Vec<Hash>,
}

impl HashReader for Mem {
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, StorageError> {
        ids.iter()
            .map(|id| {
                self.hashes.get(id).copied().ok_or(StorageError::Missing {
                    what: format!("{id:?}"),
                })
            })
            .collect()
    }
}

fn build(leaves: &[Vec<u8>]) -> Mem {
    let mut f = Frontier::empty();
    let mut nodes = Vec::new();
    let mut roots = vec![f.root()];
    for l in leaves {
        f.append(leaf_hash(l), &mut nodes);
        roots.push(f.root());
    }
    Mem {
        hashes: nodes.into_iter().collect(),
        roots,
    }
}

fn numbered(n: u64) -> Vec<Vec<u8>> {
    (0..n).map(|i| format!("leaf {i}").into_bytes()).collect()
}

/// `MTH` written as the recursion of RFC 6962, section 2.1, to check the stored-hash code
/// against the definition.
fn mth(leaves: &[Vec<u8>]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaf_hash(&leaves[0]),
        n => {
            let k = split_point(n as u64) as usize;
            node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// The eight leaves and the roots of every prefix, from the certificate-transparency test
/// vectors of RFC 6962 trees (as published in github.com/transparency-dev/merkle,
/// `testonly/constants.go`, `LeafInputs` and `RootHashes`).
#[test]
fn roots_match_rfc6962_vectors() {
    let leaves: Vec<Vec<u8>> = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
    .iter()
    .map(|s| hex(s))
    .collect();
    let roots = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];
    let mem = build(&leaves);
    for (size, want) in roots.iter().enumerate() {
        assert_eq!(
            mem.roots[size].to_hex(),
            *want,
            "frontier root at size {size}"
        );
        assert_eq!(
            tree_hash(size as u64, &mem).unwrap().to_hex(),
            *want,
            "stored-hash root at size {size}"
        );
    }
    // An interior node: MTH(D[0:4]) ("NodeHashes" level 2 index 0).
    assert_eq!(
        mem.hashes[&NodeId::new(2, 0)].to_hex(),
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"
    );
}

#[test]
fn range_nodes_tile_the_range_with_aligned_subtrees() {
    assert_eq!(range_nodes(0, 0), vec![]);
    assert_eq!(
        range_nodes(0, 7),
        vec![NodeId::new(2, 0), NodeId::new(1, 2), NodeId::new(0, 6)]
    );
    assert_eq!(
        range_nodes(8, 13),
        vec![NodeId::new(2, 2), NodeId::new(0, 12)]
    );
    for lo in 0..40u64 {
        for hi in lo..80u64 {
            let mut at = lo;
            for id in range_nodes(lo, hi) {
                assert_eq!(id.index << id.level, at, "range {lo}..{hi} is contiguous");
                at += 1 << id.level;
            }
            assert_eq!(at, hi);
        }
    }
}

#[test]
fn every_proof_of_small_trees_verifies_and_matches_the_definition() {
    let leaves = numbered(70);
    let mem = build(&leaves);
    for size in 0..=70u64 {
        let root = tree_hash(size, &mem).unwrap();
        assert_eq!(root, mth(&leaves[..size as usize]), "MTH at size {size}");
        for index in 0..size {
            let proof = inclusion_proof(index, size, &mem).unwrap();
            verify_inclusion(
                index,
                size,
                &leaf_hash(&leaves[index as usize]),
                &proof,
                &root,
            )
            .unwrap_or_else(|e| panic!("inclusion {index} in {size}: {e}"));
        }
        for old in 1..=size {
            let old_root = tree_hash(old, &mem).unwrap();
            let proof = consistency_proof(old, size, &mem).unwrap();
            verify_consistency(old, size, &old_root, &root, &proof)
                .unwrap_or_else(|e| panic!("consistency {old} -> {size}: {e}"));
        }
    }
}

/// Azul's and the RFC's negative cases: flipped bits, truncated, extended, reordered proofs,
/// wrong index, wrong size; none may verify.
#[test]
fn mutated_inclusion_proofs_fail() {
    let leaves = numbered(37);
    let mem = build(&leaves);
    let size = 37;
    let root = tree_hash(size, &mem).unwrap();
    for index in [0u64, 1, 5, 16, 31, 32, 36] {
        let leaf = leaf_hash(&leaves[index as usize]);
        let proof = inclusion_proof(index, size, &mem).unwrap();
        let fails = |p: &[Hash], i: u64, s: u64| verify_inclusion(i, s, &leaf, p, &root).is_err();
        for k in 0..proof.len() {
            for bit in [0usize, 7, 255] {
                let mut p = proof.clone();
                p[k].0[bit / 8] ^= 1 << (bit % 8);
                assert!(
                    fails(&p, index, size),
                    "bit {bit} of hash {k} flipped, index {index}"
                );
            }
        }
        assert!(fails(&proof[..proof.len() - 1], index, size), "truncated");
        let mut extended = proof.clone();
        extended.push(root);
        assert!(fails(&extended, index, size), "extended");
        let mut prefixed = vec![leaf];
        prefixed.extend_from_slice(&proof);
        assert!(fails(&prefixed, index, size), "prefixed");
        if proof.len() > 1 {
            let mut swapped = proof.clone();
            swapped.swap(0, 1);
            assert!(fails(&swapped, index, size), "reordered");
        }
        assert!(fails(&proof, index ^ 1, size), "wrong index");
        // A size one larger can share the proof's shape (index 0 in 37 and 38 leaves): the
        // size is bound by the signed checkpoint, not by the proof, so it is not tested here.
        assert!(fails(&proof, index, size * 2), "doubled size");
        assert!(fails(&proof, size, size), "index equal to size");
    }
}

#[test]
fn mutated_consistency_proofs_fail() {
    let leaves = numbered(50);
    let mem = build(&leaves);
    for (old, new) in [
        (1u64, 2u64),
        (3, 7),
        (4, 8),
        (6, 8),
        (13, 50),
        (32, 49),
        (33, 50),
    ] {
        let old_root = tree_hash(old, &mem).unwrap();
        let new_root = tree_hash(new, &mem).unwrap();
        let proof = consistency_proof(old, new, &mem).unwrap();
        let fails =
            |p: &[Hash], o: u64, n: u64| verify_consistency(o, n, &old_root, &new_root, p).is_err();
        assert!(!fails(&proof, old, new));
        for k in 0..proof.len() {
            let mut p = proof.clone();
            p[k].0[31] ^= 0x80;
            assert!(fails(&p, old, new), "flipped hash {k} of {old}->{new}");
        }
        assert!(
            fails(&proof[..proof.len() - 1], old, new),
            "truncated {old}->{new}"
        );
        let mut extended = proof.clone();
        extended.push(new_root);
        assert!(fails(&extended, old, new), "extended {old}->{new}");
        assert!(fails(&[], old, new), "empty {old}->{new}");
        assert!(fails(&proof, old + 1, new), "wrong old size {old}->{new}");
        assert!(fails(&proof, old, new * 2), "doubled new size {old}->{new}");
        assert!(
            verify_consistency(old, new, &new_root, &old_root, &proof).is_err(),
            "swapped roots {old}->{new}"
        );
    }
}

#[test]
fn proof_requests_out_of_range_are_refused() {
    let mem = build(&numbered(5));
    assert!(matches!(
        inclusion_proof(5, 5, &mem),
        Err(TreeError::IndexOutOfRange {
            index: 5,
            tree_size: 5
        })
    ));
    assert!(matches!(
        consistency_proof(6, 5, &mem),
        Err(TreeError::SizeOrder {
            old_size: 6,
            new_size: 5
        })
    ));
    assert!(matches!(
        tree_hash(6, &mem),
        Err(TreeError::Storage(StorageError::Missing { .. }))
    ));
}

#[test]
fn frontier_reloads_from_stored_hashes() {
    let mem = build(&numbered(1000));
    for size in [0u64, 1, 255, 256, 257, 999, 1000] {
        let f = Frontier::load(size, &mem).unwrap();
        assert_eq!(f.size(), size);
        assert_eq!(
            f.root(),
            mem.roots[size as usize],
            "root after reload at {size}"
        );
    }
}
