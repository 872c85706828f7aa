//! Unpacking a layer: hostile input, written only below a fresh staging directory.
//!
//! The blob's compression is read from its first bytes (gzip, zstd or a plain tar). The
//! uncompressed stream is hashed on the way through and must equal the diff id the image
//! config names, and it is capped ([`Options::max_size`]). Each entry is checked by [`path`]
//! (no absolute names, no `..`, symlink targets that stay inside, whiteout names) and written
//! by [`fs`] relative to the layer's directory descriptor without following any symlink.
//! Whiteouts become overlayfs whiteouts (0/0 character devices) and opaque directories get
//! `trusted.overlay.opaque=y`, so the directory is usable as an overlayfs lower dir as is.
//! Any refusal aborts the whole layer; the caller removes the staging directory.

pub mod fs;
pub mod path;

use super::digest::{Digest, Hasher};
use super::manifest::Compression;
use fs::{Attrs, Fail, LayerFs};
use nix::sys::stat::{self, SFlag};
use path::{Refusal, Whiteout};
use std::cell::Cell;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use tar::EntryType;

/// Default cap on a layer's uncompressed size (and on the sum of its entries' sizes).
pub const DEFAULT_MAX_SIZE: u64 = 16 << 30;

/// What an unpack may do.
#[derive(Debug, Clone)]
pub struct Options {
    /// Refuse a layer whose uncompressed stream, or the sum of its entries, exceeds this.
    pub max_size: u64,
    /// Create character and block devices (only for a privileged caller whose policy keeps
    /// CAP_MKNOD; otherwise device entries are refused).
    pub allow_devices: bool,
    /// Set owners from the tarball (requires CAP_CHOWN; off for a rootless caller).
    pub chown: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options { max_size: DEFAULT_MAX_SIZE, allow_devices: false, chown: nix::unistd::geteuid().is_root() }
    }
}

/// What an unpacked layer turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    /// sha256 of the uncompressed tar.
    pub diff_id: Digest,
    /// Bytes of the uncompressed tar.
    pub diff_size: u64,
    pub entries: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    #[error("layer {layer}: entry `{entry}` refused: {why}")]
    Refused { layer: String, entry: String, why: Refusal },
    #[error("layer {layer}: entry `{entry}`: {op}: {source}")]
    Entry {
        layer: String,
        entry: String,
        op: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("layer {layer}: corrupt or truncated stream: {source}")]
    Stream {
        layer: String,
        #[source]
        source: io::Error,
    },
    #[error("layer {layer}: uncompressed content has digest {actual}, but the image config says {expected}")]
    DiffId { layer: String, expected: Digest, actual: Digest },
    #[error("layer {layer}: {path}: {source}")]
    Dest {
        layer: String,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl UnpackError {
    /// Whether the layer was refused by a rule (rather than failing on I/O).
    pub fn is_refusal(&self) -> bool {
        matches!(self, UnpackError::Refused { .. } | UnpackError::DiffId { .. })
    }
}

/// The uncompressed stream: hashed, counted and capped.
struct Meter<R> {
    inner: R,
    hasher: Hasher,
    count: Rc<Cell<u64>>,
    cap: u64,
}

impl<R: Read> Read for Meter<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count.set(self.count.get() + n as u64);
        if self.count.get() > self.cap {
            return Err(io::Error::other("size cap exceeded"));
        }
        Ok(n)
    }
}

/// Opens the decompressor the blob's magic number calls for.
pub fn decompress<'a>(blob: impl Read + 'a) -> io::Result<Box<dyn Read + 'a>> {
    let mut buffered = BufReader::with_capacity(256 << 10, blob);
    let head = buffered.fill_buf()?;
    Ok(match Compression::sniff(head) {
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(buffered)?),
        Compression::None => Box::new(buffered),
    })
}

/// Unpacks `blob` (the layer `layer`, named in errors) into `dest`, which must be a new empty
/// directory. If `expected` is given, the uncompressed digest must equal it.
pub fn unpack(blob: impl Read, layer: &str, expected: Option<&Digest>, dest: &Path, opts: &Options) -> Result<Stats, UnpackError> {
    let stream_err = |source| UnpackError::Stream { layer: layer.to_string(), source };
    let count = Rc::new(Cell::new(0u64));
    let mut meter = Meter { inner: decompress(blob).map_err(stream_err)?, hasher: Hasher::new(), count: count.clone(), cap: opts.max_size };
    let mut layer_fs = LayerFs::open(dest, opts.chown).map_err(|source| UnpackError::Dest {
        layer: layer.to_string(),
        path: dest.to_path_buf(),
        source,
    })?;
    let mut entries = 0u64;
    let mut declared = 0u64;
    let mut last = String::from("(start of layer)");
    {
        let mut archive = tar::Archive::new(BufReader::with_capacity(256 << 10, &mut meter));
        let iter = archive.entries().map_err(stream_err)?;
        for entry in iter {
            let over_cap = |last: &str| UnpackError::Refused {
                layer: layer.to_string(),
                entry: last.to_string(),
                why: Refusal::TooLarge(opts.max_size),
            };
            let mut entry = match entry {
                Ok(e) => e,
                Err(_) if count.get() > opts.max_size => return Err(over_cap(&last)),
                Err(source) => return Err(stream_err(source)),
            };
            last = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            declared = declared.saturating_add(entry.size());
            if declared > opts.max_size {
                return Err(over_cap(&last));
            }
            entries += 1;
            match one_entry(&mut layer_fs, &mut entry, opts) {
                Ok(()) => {}
                Err(_) if count.get() > opts.max_size => return Err(over_cap(&last)),
                Err(Fail::Refused(why)) => return Err(UnpackError::Refused { layer: layer.to_string(), entry: last, why }),
                Err(Fail::Io { op, source }) => return Err(UnpackError::Entry { layer: layer.to_string(), entry: last, op, source }),
            }
        }
    }
    layer_fs.finish().map_err(|(entry, fail)| match fail {
        Fail::Refused(why) => UnpackError::Refused { layer: layer.to_string(), entry, why },
        Fail::Io { op, source } => UnpackError::Entry { layer: layer.to_string(), entry, op, source },
    })?;
    // The digest covers the whole stream, including the end-of-archive blocks.
    if let Err(source) = io::copy(&mut meter, &mut io::sink()) {
        if count.get() > opts.max_size {
            return Err(UnpackError::Refused { layer: layer.to_string(), entry: last, why: Refusal::TooLarge(opts.max_size) });
        }
        return Err(stream_err(source));
    }
    let diff_size = count.get();
    let diff_id = meter.hasher.finish();
    if let Some(expected) = expected {
        if &diff_id != expected {
            return Err(UnpackError::DiffId { layer: layer.to_string(), expected: expected.clone(), actual: diff_id });
        }
    }
    Ok(Stats { diff_id, diff_size, entries })
}

/// Extended attributes carried over from PAX headers: file capabilities (images rely on them,
/// e.g. ping's cap_net_raw) and the user namespace. `trusted.*` (overlayfs's own, which could
/// forge whiteouts or redirects) and `security.*` labels are never taken from an image.
fn wanted_xattr(key: &str) -> bool {
    key == "security.capability" || key.starts_with("user.")
}

fn one_entry<R: Read>(layer_fs: &mut LayerFs, entry: &mut tar::Entry<'_, R>, opts: &Options) -> Result<(), Fail> {
    let comps = path::clean(&entry.path_bytes())?;
    let header = entry.header().clone();
    let io = |op| move |source| Fail::Io { op, source };
    let attrs = Attrs {
        mode: header.mode().map_err(io("header mode"))?,
        uid: header
            .uid()
            .map_err(io("header uid"))?
            .try_into()
            .map_err(|_| Fail::Io { op: "header uid", source: io::Error::other("out of range") })?,
        gid: header
            .gid()
            .map_err(io("header gid"))?
            .try_into()
            .map_err(|_| Fail::Io { op: "header gid", source: io::Error::other("out of range") })?,
        mtime: header.mtime().unwrap_or(0),
    };
    let kind = header.entry_type();
    let Some((name, parent)) = comps.split_last() else {
        // `./` itself: the layer root's attributes.
        if kind.is_dir() {
            layer_fs.root_attrs(attrs);
        }
        return Ok(());
    };
    match path::whiteout(name)? {
        Whiteout::Opaque => return layer_fs.opaque(parent),
        Whiteout::Remove(target) => return layer_fs.whiteout(parent, &target),
        Whiteout::Meta => return Ok(()),
        Whiteout::None => {}
    }
    let mut xattrs = Vec::new();
    if let Some(pax) = entry.pax_extensions().map_err(io("pax header"))? {
        for ext in pax {
            let ext = ext.map_err(io("pax header"))?;
            if let Some(key) = ext.key().ok().and_then(|k| k.strip_prefix("SCHILY.xattr.")) {
                if wanted_xattr(key) {
                    xattrs.push((key.to_string(), ext.value_bytes().to_vec()));
                }
            }
        }
    }
    match kind {
        EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
            layer_fs.file(parent, name, attrs, entry)?;
        }
        EntryType::Directory => layer_fs.dir_entry(parent, name, attrs)?,
        EntryType::Symlink => {
            let target = entry.link_name_bytes().map(|t| t.into_owned()).unwrap_or_default();
            path::check_symlink(&comps, &target)?;
            use std::os::unix::ffi::OsStrExt;
            return layer_fs.symlink(parent, name, std::ffi::OsStr::from_bytes(&target), attrs);
        }
        EntryType::Link => {
            let raw = entry.link_name_bytes().map(|t| t.into_owned()).unwrap_or_default();
            let shown = String::from_utf8_lossy(&raw).into_owned();
            let target = path::clean(&raw).map_err(|why| Refusal::Hardlink { target: shown, why: Box::new(why) })?;
            return layer_fs.hardlink(parent, name, &target);
        }
        EntryType::Char | EntryType::Block => {
            if !opts.allow_devices {
                return Err(Refusal::Device.into());
            }
            let major = header.device_major().map_err(io("header device"))?.unwrap_or(0);
            let minor = header.device_minor().map_err(io("header device"))?.unwrap_or(0);
            let sflag = if kind == EntryType::Char { SFlag::S_IFCHR } else { SFlag::S_IFBLK };
            layer_fs.node(parent, name, sflag, stat::makedev(major.into(), minor.into()), attrs)?;
        }
        EntryType::Fifo => layer_fs.node(parent, name, SFlag::S_IFIFO, 0, attrs)?,
        // Metadata entries the tar crate folds into the next entry.
        EntryType::XGlobalHeader | EntryType::XHeader | EntryType::GNULongName | EntryType::GNULongLink => return Ok(()),
        other => return Err(Refusal::EntryType(other.as_byte()).into()),
    }
    for (key, value) in xattrs {
        layer_fs.xattr(parent, name, &key, &value)?;
    }
    Ok(())
}
