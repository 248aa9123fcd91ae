//! LZF (liblzf `lzf_decompress` with `CHECK_INPUT`) decoding and streaming validation.

use std::io::Read;

use super::reader::{Res, Src};

/// Decompress `input` into `out` (appended), requiring exactly `out_len` bytes of output,
/// with the same bounds checks as `lzf_d.c`. Allocation grows with real output only.
pub(super) fn decompress(input: &[u8], out_len: u64, out: &mut Vec<u8>) -> Result<(), String> {
    let start = out.len();
    // An LZF stream expands at most ~88x (3 input bytes -> 264 output bytes).
    let plausible = (input.len() as u64).saturating_mul(90);
    if out_len > plausible {
        return Err(format!(
            "uncompressed length {out_len} impossible for {} compressed bytes",
            input.len()
        ));
    }
    out.reserve(out_len.min(1 << 20) as usize);
    let mut ip = 0usize;
    let produced = |out: &Vec<u8>| (out.len() - start) as u64;
    while ip < input.len() {
        let ctrl = input[ip] as usize;
        ip += 1;
        if ctrl < 32 {
            let run = ctrl + 1;
            if produced(out) + run as u64 > out_len {
                return Err("output overflows the declared length".into());
            }
            if ip + run > input.len() {
                return Err("literal run past end of input".into());
            }
            out.extend_from_slice(&input[ip..ip + run]);
            ip += run;
        } else {
            let mut len = ctrl >> 5;
            let mut back = (ctrl & 0x1f) << 8;
            if ip >= input.len() {
                return Err("back reference past end of input".into());
            }
            if len == 7 {
                len += input[ip] as usize;
                ip += 1;
                if ip >= input.len() {
                    return Err("back reference past end of input".into());
                }
            }
            back += input[ip] as usize;
            ip += 1;
            let n = len + 2;
            if produced(out) + n as u64 > out_len {
                return Err("output overflows the declared length".into());
            }
            let cur = out.len() - start;
            if back + 1 > cur {
                return Err("back reference before start of output".into());
            }
            let from = out.len() - back - 1;
            for i in 0..n {
                let b = out[from + i];
                out.push(b);
            }
        }
    }
    if produced(out) != out_len {
        return Err(format!(
            "decompressed to {} bytes, expected {out_len}",
            produced(out)
        ));
    }
    Ok(())
}

/// Validate an LZF payload of `clen` bytes streaming from `src` without materialising the output:
/// only output positions matter for the checks `lzf_decompress` performs.
pub(super) fn validate_stream<R: Read>(src: &mut Src<R>, clen: u64, out_len: u64) -> Res<()> {
    const WHAT: &str = "an LZF string";
    let mut left = clen; // input bytes not yet consumed
    let mut op: u64 = 0;
    while left > 0 {
        let ctrl = u64::from(src.u8(WHAT)?);
        left -= 1;
        if ctrl < 32 {
            let run = ctrl + 1;
            if op + run > out_len {
                return Err(src.err("output overflows the declared length"));
            }
            if run > left {
                return Err(src.err("literal run past end of input"));
            }
            src.skip(run, WHAT)?;
            left -= run;
            op += run;
        } else {
            let mut len = ctrl >> 5;
            let mut back = (ctrl & 0x1f) << 8;
            if left == 0 {
                return Err(src.err("back reference past end of input"));
            }
            if len == 7 {
                len += u64::from(src.u8(WHAT)?);
                left -= 1;
                if left == 0 {
                    return Err(src.err("back reference past end of input"));
                }
            }
            back += u64::from(src.u8(WHAT)?);
            left -= 1;
            if op + len + 2 > out_len {
                return Err(src.err("output overflows the declared length"));
            }
            if back + 1 > op {
                return Err(src.err("back reference before start of output"));
            }
            op += len + 2;
        }
    }
    if op != out_len {
        return Err(src.err(format!("decompressed to {op} bytes, expected {out_len}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &[u8], out_len: u64, expect: Result<&[u8], &str>) {
        let mut out = Vec::new();
        let got = decompress(input, out_len, &mut out);
        match expect {
            Ok(bytes) => {
                assert_eq!(got, Ok(()), "input {input:02x?}");
                assert_eq!(out, bytes);
            }
            Err(frag) => {
                let e = got.expect_err("expected failure");
                assert!(e.contains(frag), "{e:?} should contain {frag:?}");
            }
        }
        // The streaming validator must agree with the decoder.
        let mut src = Src::new(input);
        let v = validate_stream(&mut src, input.len() as u64, out_len);
        assert_eq!(
            v.is_ok(),
            expect.is_ok(),
            "streaming validator disagrees on {input:02x?}"
        );
    }

    #[test]
    fn lzf_cases() {
        // literal "abc"
        check(&[2, b'a', b'b', b'c'], 3, Ok(b"abc"));
        // literal "ab" + backref len 3+2? ctrl=(1<<5)|0 -> len 1+2=3, back 1 -> "ab" + "aba"
        check(&[1, b'a', b'b', 0x20, 1], 5, Ok(b"ababa"));
        // run of 'a': literal 'a' then backref distance 1 len 7+2=9
        check(&[0, b'a', 0xe0, 0, 0], 10, Ok(b"aaaaaaaaaa"));
        check(&[2, b'a', b'b'], 3, Err("literal run past end"));
        check(&[2, b'a', b'b', b'c'], 2, Err("overflows"));
        check(&[2, b'a', b'b', b'c'], 4, Err("expected 4"));
        check(&[0, b'a', 0x20, 5], 4, Err("before start"));
        check(&[0, b'a', 0x20], 4, Err("past end of input"));
        check(&[], 0, Ok(b""));
        check(&[0, b'a'], 1_000_000, Err("impossible"));
    }
}
