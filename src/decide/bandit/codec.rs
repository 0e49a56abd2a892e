//! Binary persistence format for [`crate::decide::bandit::LinearThompsonBandit`].
//!
//! Guarantees: encoding is bit-exact (every `f64` stored as its IEEE-754 bits,
//! little-endian) so `decode(encode(s)) == s`; decoding never panics and
//! rejects wrong magic/version, truncated or trailing bytes, unknown or
//! duplicate actions, non-finite numbers and non-positive `a`, `b` or
//! Cholesky diagonal.
//!
//! Layout: `b"JDKB"`, `u8` version (1), `u32` dim, `u32` arm count, then per
//! arm: `u8` action code, `u64` n, `f64` a, `f64` b, `mu[d]`, `eta[d]`,
//! `lambda[d·d]`, `chol[d·d]`.

use crate::decide::bandit::{ArmParts, ArmPosterior, BanditError};
use crate::schema::Action;

const MAGIC: &[u8; 4] = b"JDKB";
const VERSION: u8 = 1;
/// Upper bound on the dimension accepted when decoding (guards allocation).
const MAX_DIM: usize = 64;

pub(crate) fn encode(dim: usize, arms: &[ArmPosterior]) -> Vec<u8> {
    let mut out = Vec::with_capacity(13 + arms.len() * (17 + 8 * (2 * dim + 2 * dim * dim + 2)));
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    out.extend_from_slice(&(dim as u32).to_le_bytes());
    out.extend_from_slice(&(arms.len() as u32).to_le_bytes());
    for arm in arms {
        let p = arm.parts();
        out.push(p.action.code());
        out.extend_from_slice(&p.n.to_le_bytes());
        for v in [p.a, p.b]
            .iter()
            .chain(&p.mu)
            .chain(&p.eta)
            .chain(&p.lambda)
            .chain(&p.chol)
        {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], BanditError> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or(BanditError::Decode("length overflow"))?;
        let s = self
            .buf
            .get(self.pos..end)
            .ok_or(BanditError::Decode("truncated"))?;
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, BanditError> {
        Ok(self.take(1)?[0])
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], BanditError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    fn u32(&mut self) -> Result<u32, BanditError> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64, BanditError> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    fn f64(&mut self) -> Result<f64, BanditError> {
        let v = f64::from_le_bytes(self.array()?);
        if v.is_finite() {
            Ok(v)
        } else {
            Err(BanditError::Decode("non-finite value"))
        }
    }
    fn vec(&mut self, n: usize) -> Result<Vec<f64>, BanditError> {
        (0..n).map(|_| self.f64()).collect()
    }
}

pub(crate) fn decode(bytes: &[u8]) -> Result<(usize, Vec<ArmPosterior>), BanditError> {
    let mut r = Reader { buf: bytes, pos: 0 };
    if r.take(4)? != MAGIC {
        return Err(BanditError::Decode("bad magic"));
    }
    if r.u8()? != VERSION {
        return Err(BanditError::Decode("unsupported version"));
    }
    let dim = r.u32()? as usize;
    if dim == 0 || dim > MAX_DIM {
        return Err(BanditError::Decode("bad dimension"));
    }
    let count = r.u32()? as usize;
    if count == 0 || count > Action::ALL.len() {
        return Err(BanditError::Decode("bad arm count"));
    }
    let mut arms: Vec<ArmPosterior> = Vec::with_capacity(count);
    for _ in 0..count {
        let action = Action::from_code(r.u8()?).ok_or(BanditError::Decode("unknown action"))?;
        if arms.iter().any(|a| a.action() == action) {
            return Err(BanditError::Decode("duplicate action"));
        }
        let n = r.u64()?;
        let a = r.f64()?;
        let b = r.f64()?;
        if a <= 0.0 || b <= 0.0 {
            return Err(BanditError::Decode("non-positive a or b"));
        }
        let mu = r.vec(dim)?;
        let eta = r.vec(dim)?;
        let lambda = r.vec(dim * dim)?;
        let chol = r.vec(dim * dim)?;
        if (0..dim).any(|i| chol[i * dim + i] <= 0.0) {
            return Err(BanditError::Decode("non-positive Cholesky diagonal"));
        }
        arms.push(ArmPosterior::from_parts(ArmParts {
            action,
            mu,
            lambda,
            chol,
            eta,
            a,
            b,
            n,
        }));
    }
    if r.pos != bytes.len() {
        return Err(BanditError::Decode("trailing bytes"));
    }
    Ok((dim, arms))
}
