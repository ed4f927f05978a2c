//! `wsi convert IN OUT`: a capture from JSON lines or HAR into JSON lines, HAR or pcapng, by
//! the files' extensions, with the core's writers. The output is written to a temporary file
//! beside it and renamed into place once complete, so a failed conversion never leaves half
//! a file under the name asked for.

use std::io::{BufWriter, Write};
use std::path::Path;

use ws_inspector_core::capture::{JsonlWriter, har, pcapng};

use crate::args::ConvertArgs;
use crate::capture_file::{self, Format};
use crate::exit::{Failure, Status};

/// Runs `wsi convert`.
pub fn run(args: &ConvertArgs) -> Status {
    match convert(&args.input, &args.output) {
        Ok(summary) => {
            eprintln!("wsi: {summary}");
            Status::Ok
        }
        Err(failure) => failure.report(),
    }
}

fn convert(input: &Path, output: &Path) -> Result<String, Failure> {
    let out_format = Format::of(output)?;
    let lines = capture_file::read(input)?;
    let temp = output.with_extension(format!(
        "{}.partial",
        output.extension().and_then(|e| e.to_str()).unwrap_or("out")
    ));
    let file = std::fs::File::create(&temp)
        .map_err(|e| Failure::failed(format!("{}: cannot create it: {e}", temp.display())))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let written = match out_format {
        Format::Jsonl => {
            let mut writer = JsonlWriter::new(&mut out);
            let mut result = Ok(());
            for line in &lines {
                result = writer.write_line(line);
                if result.is_err() {
                    break;
                }
            }
            result.map(|()| format!("{} lines", lines.len()))
        }
        Format::Har => har::export(&lines, &mut out)
            .map(|s| format!("{} WebSocket entries, {} messages", s.entries, s.messages)),
        Format::Pcapng => pcapng::export(&lines, &mut out).map(|s| {
            format!(
                "{} connections, {} frames in {} packets",
                s.connections, s.frames, s.packets
            )
        }),
    };
    let finished = written.and_then(|summary| {
        out.flush()?;
        out.get_ref().sync_all()?;
        Ok(summary)
    });
    match finished {
        Ok(summary) => {
            std::fs::rename(&temp, output).map_err(|e| {
                Failure::failed(format!("{}: cannot write it: {e}", output.display()))
            })?;
            Ok(format!(
                "{} → {}: {summary}",
                input.display(),
                output.display()
            ))
        }
        Err(e) => {
            let _ = std::fs::remove_file(&temp);
            Err(Failure::failed(format!(
                "{}: writing failed: {e}",
                output.display()
            )))
        }
    }
}
