use proptest::prelude::*;

use super::*;

/// The naive rule, from the sequence alone: the state flips at step `t`
/// exactly when the last `persist` signals (up to and including `t`) all
/// disagree with the state before `t`. Returns (open, trailing
/// disagreements) after each step.
fn brute_force(signals: &[bool], persist: u32) -> Vec<(bool, u32)> {
    let p = persist.max(1) as usize;
    let mut open = false;
    let mut out = Vec::with_capacity(signals.len());
    for t in 0..signals.len() {
        if t + 1 >= p && signals[t + 1 - p..=t].iter().all(|&s| s != open) {
            open = !open;
        }
        let run = signals[..=t]
            .iter()
            .rev()
            .take_while(|&&s| s != open)
            .count();
        out.push((open, run as u32));
    }
    out
}

#[test]
fn opens_and_closes_after_persist() {
    let mut h = Hysteresis::default();
    assert!(!h.is_open());
    assert_eq!(h.observe(true, 3), None);
    assert_eq!(h.observe(true, 3), None);
    assert_eq!(h.observe(false, 3), None);
    assert_eq!(h.observe(true, 3), None);
    assert_eq!(h.observe(true, 3), None);
    assert_eq!(h.observe(true, 3), Some(Transition::Opened));
    assert!(h.is_open());
    assert_eq!(h.observe(false, 3), None);
    assert_eq!(h.observe(true, 3), None);
    assert_eq!(h.observe(false, 3), None);
    assert_eq!(h.observe(false, 3), None);
    assert_eq!(h.observe(false, 3), Some(Transition::Closed));
    assert_eq!(h, Hysteresis::default());
}

#[test]
fn persist_zero_behaves_as_one() {
    let mut h = Hysteresis::default();
    assert_eq!(h.observe(true, 0), Some(Transition::Opened));
    assert_eq!(h.observe(false, 0), Some(Transition::Closed));
}

#[test]
fn decode_rejects_garbage() {
    assert!(Hysteresis::decode(&[]).is_err());
    assert!(Hysteresis::decode(&[0, 0, 0, 0]).is_err());
    assert!(Hysteresis::decode(&[0, 0, 0, 0, 0, 0]).is_err());
    assert!(Hysteresis::decode(&[2, 0, 0, 0, 0]).is_err());
    assert_eq!(
        Hysteresis::decode(&[1, 2, 0, 0, 0]),
        Ok(Hysteresis { open: true, run: 2 })
    );
}

proptest! {
    #[test]
    fn matches_brute_force(signals in proptest::collection::vec(any::<bool>(), 0..200), persist in 0u32..6) {
        let want = brute_force(&signals, persist);
        let mut h = Hysteresis::default();
        let mut last = None;
        for (t, &s) in signals.iter().enumerate() {
            let was_open = h.is_open();
            let tr = h.observe(s, persist);
            prop_assert_eq!((h.open, h.run), want[t]);
            // A transition is exactly a change of state, and they alternate.
            match tr {
                Some(Transition::Opened) => prop_assert!(!was_open && h.is_open()),
                Some(Transition::Closed) => prop_assert!(was_open && !h.is_open()),
                None => prop_assert_eq!(was_open, h.is_open()),
            }
            if let Some(tr) = tr {
                prop_assert_ne!(Some(tr), last);
                if last.is_none() {
                    prop_assert_eq!(tr, Transition::Opened);
                }
                last = Some(tr);
                // No transition unless the last `persist` signals agree.
                let p = persist.max(1) as usize;
                prop_assert!(t + 1 >= p);
                prop_assert!(signals[t + 1 - p..=t].iter().all(|&x| x == s));
            }
        }
    }

    #[test]
    fn persist_one_follows_the_signal(signals in proptest::collection::vec(any::<bool>(), 0..100)) {
        let mut h = Hysteresis::default();
        for &s in &signals {
            let before = h.is_open();
            let tr = h.observe(s, 1);
            prop_assert_eq!(h.is_open(), s);
            prop_assert_eq!(tr.is_some(), before != s);
        }
    }

    #[test]
    fn encode_round_trips(signals in proptest::collection::vec(any::<bool>(), 0..50), persist in 0u32..8) {
        let mut h = Hysteresis::default();
        for &s in &signals {
            h.observe(s, persist);
            prop_assert_eq!(Hysteresis::decode(&h.encode()), Ok(h));
        }
    }

    #[test]
    fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..12)) {
        if let Ok(h) = Hysteresis::decode(&bytes) {
            prop_assert_eq!(h.encode().to_vec(), bytes);
        }
    }
}
