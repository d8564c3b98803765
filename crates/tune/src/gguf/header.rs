//! A first walk over a GGUF header's metadata, before candle's reader trusts it: every declared
//! length is checked against what is left of the file, and the values candle divides by are
//! refused when they would panic (`general.alignment` 0 divides by zero; llama.cpp itself
//! requires a power of two). Reads only the header; nothing is allocated for a declared size.

use std::io::{Read, Seek, SeekFrom};

/// Arrays of arrays deeper than this are refused (candle allows the same depth).
const MAX_DEPTH: u32 = 8;

/// The GGUF value types by their number in the file.
const STRING: u32 = 8;
const ARRAY: u32 = 9;

/// Walks the metadata of the GGUF file in `reader` (`len` bytes); `Err` says what is wrong.
pub(super) fn check<R: Read + Seek>(reader: &mut R, len: u64) -> Result<(), String> {
    let mut walk = Walk { reader, len };
    if walk.u32()? != 0x4655_4747 {
        return Err("it does not start with GGUF".to_owned());
    }
    let version = walk.u32()?;
    if !(1..=3).contains(&version) {
        return Err(format!("GGUF version {version} is not supported (1 to 3)"));
    }
    let wide = version >= 2;
    let _tensors = walk.length(wide)?;
    let entries = walk.length(wide)?;
    for _ in 0..entries {
        let key = walk.string(wide)?;
        let kind = walk.u32()?;
        if key == "general.alignment" {
            let alignment = match kind {
                0 | 1 => u64::from(walk.bytes::<1>()?[0]),
                2 | 3 => u64::from(u16::from_le_bytes(walk.bytes()?)),
                4 | 5 => u64::from(walk.u32()?),
                _ => {
                    walk.skip_value(kind, wide, 0)?;
                    continue;
                }
            };
            if !alignment.is_power_of_two() {
                return Err(format!(
                    "general.alignment is {alignment}; it must be a power of two"
                ));
            }
            continue;
        }
        walk.skip_value(kind, wide, 0)?;
    }
    Ok(())
}

struct Walk<'r, R> {
    reader: &'r mut R,
    len: u64,
}

impl<R: Read + Seek> Walk<'_, R> {
    fn bytes<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut buf = [0; N];
        self.reader
            .read_exact(&mut buf)
            .map_err(|_| "the header ends early".to_owned())?;
        Ok(buf)
    }

    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.bytes()?))
    }

    fn length(&mut self, wide: bool) -> Result<u64, String> {
        if wide {
            Ok(u64::from_le_bytes(self.bytes()?))
        } else {
            Ok(u64::from(self.u32()?))
        }
    }

    fn left(&mut self) -> Result<u64, String> {
        let at = self
            .reader
            .stream_position()
            .map_err(|e| format!("cannot read the header: {e}"))?;
        Ok(self.len.saturating_sub(at))
    }

    /// Skips `n` bytes, refusing a length longer than what is left of the file.
    fn skip(&mut self, n: u64, what: &str) -> Result<(), String> {
        let left = self.left()?;
        if n > left {
            return Err(format!(
                "{what} declares {n} bytes but only {left} are left in the file"
            ));
        }
        let n = i64::try_from(n).map_err(|_| format!("{what} is too long"))?;
        self.reader
            .seek(SeekFrom::Current(n))
            .map_err(|e| format!("cannot read the header: {e}"))?;
        Ok(())
    }

    fn string(&mut self, wide: bool) -> Result<String, String> {
        let n = self.length(wide)?;
        let left = self.left()?;
        if n > left.min(1 << 20) {
            return Err(format!(
                "a metadata key declares {n} bytes but only {left} are left in the file"
            ));
        }
        let mut buf = vec![0; n as usize];
        self.reader
            .read_exact(&mut buf)
            .map_err(|_| "the header ends early".to_owned())?;
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }

    fn skip_value(&mut self, kind: u32, wide: bool, depth: u32) -> Result<(), String> {
        match kind {
            0 | 1 | 7 => self.skip(1, "a value"),
            2 | 3 => self.skip(2, "a value"),
            4..=6 => self.skip(4, "a value"),
            10..=12 => self.skip(8, "a value"),
            STRING => {
                let n = self.length(wide)?;
                self.skip(n, "a string")
            }
            ARRAY => {
                if depth >= MAX_DEPTH {
                    return Err(format!("arrays are nested deeper than {MAX_DEPTH}"));
                }
                let inner = self.u32()?;
                let count = self.length(wide)?;
                let fixed = match inner {
                    0 | 1 | 7 => Some(1),
                    2 | 3 => Some(2),
                    4..=6 => Some(4),
                    10..=12 => Some(8),
                    STRING | ARRAY => None,
                    other => return Err(format!("unknown value type {other}")),
                };
                match fixed {
                    Some(size) => self.skip(count.saturating_mul(size), "an array"),
                    None => {
                        // Every element takes at least its length field.
                        let left = self.left()?;
                        if count > left / 4 {
                            return Err(format!(
                                "an array declares {count} elements but only {left} bytes are left in the file"
                            ));
                        }
                        for _ in 0..count {
                            self.skip_value(inner, wide, depth + 1)?;
                        }
                        Ok(())
                    }
                }
            }
            other => Err(format!("unknown value type {other}")),
        }
    }
}
