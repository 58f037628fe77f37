//! Reading admins' CSV files and rewriting them with only the unfinished rows.
//!
//! Admins export these files from spreadsheets, so the reader accepts a UTF-8
//! BOM, CRLF line ends, quoted fields with commas and newlines, blank lines
//! and stray spaces, and matches header names loosely (`User Type`,
//! `user_type` and `usertype` are one column). Every row keeps the line
//! number it starts on, so errors can name it.

use std::collections::HashMap;

const BOM: &[u8] = b"\xEF\xBB\xBF";
/// The column rollcall adds (or replaces) to say why a row is still there.
pub const ERROR_COLUMN: &str = "error";

/// A parsed CSV file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Header names exactly as written (trimmed of surrounding spaces).
    pub headers: Vec<String>,
    pub rows: Vec<Row>,
    /// The file started with a UTF-8 BOM (kept when rewriting, for Excel).
    pub had_bom: bool,
    /// The file used CRLF line ends (kept when rewriting).
    pub crlf: bool,
}

/// One data row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// 1-based line of the file where the row starts (the header is line 1).
    pub line: u64,
    /// Raw fields as written, unquoted.
    pub fields: Vec<String>,
}

/// Why a file cannot be read as a table at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is not UTF-8 text (first bad byte on line {line}); save it as 'CSV UTF-8'")]
    NotUtf8 { line: u64 },
    #[error("line {line}: {message}")]
    Malformed { line: u64, message: String },
}

/// Why a header cannot be used; every problem is listed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unusable header: {}", problems.join("; "))]
pub struct HeaderError {
    pub problems: Vec<String>,
}

/// Parses the file, checking encoding first.
pub fn parse(bytes: &[u8]) -> Result<Table, TableError> {
    let had_bom = bytes.starts_with(BOM);
    let bytes = if had_bom { &bytes[BOM.len()..] } else { bytes };
    if let Err(e) = std::str::from_utf8(bytes) {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count() as u64
            + 1;
        return Err(TableError::NotUtf8 { line });
    }
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(TableError::Empty);
    }
    let crlf = bytes.windows(2).any(|w| w == b"\r\n");
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(bytes);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| malformed(&e, &|_| 1))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    // Line numbers come from byte offsets: the line an admin sees in an editor.
    let newlines: Vec<usize> = bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .map(|(i, _)| i)
        .collect();
    // A record's position is where the previous one ended: skip the line
    // ends (and blank lines) in between to find the line it starts on.
    let line_of = |offset: u64| {
        let mut start = offset as usize;
        while start < bytes.len() && matches!(bytes[start], b'\r' | b'\n') {
            start += 1;
        }
        newlines.partition_point(|n| *n < start) as u64 + 1
    };
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| malformed(&e, &line_of))?;
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let line = record.position().map(|p| line_of(p.byte())).unwrap_or(0);
        rows.push(Row {
            line,
            fields: record.iter().map(str::to_string).collect(),
        });
    }
    Ok(Table {
        headers,
        rows,
        had_bom,
        crlf,
    })
}

fn malformed(error: &csv::Error, line_of: &dyn Fn(u64) -> u64) -> TableError {
    let line = error.position().map(|p| line_of(p.byte())).unwrap_or(0);
    TableError::Malformed {
        line,
        message: error.to_string(),
    }
}

/// Why a file cannot be used at all: its text or its header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileProblem {
    #[error(transparent)]
    Table(#[from] TableError),
    #[error(transparent)]
    Header(#[from] HeaderError),
}

/// Parses `bytes` and maps its header onto `columns`, or says why the file
/// cannot be used at all (encoding, emptiness, header).
pub fn read(bytes: &[u8], columns: &[Column]) -> Result<(Table, ColumnMap), FileProblem> {
    let table = parse(bytes)?;
    let map = ColumnMap::new(&table.headers, columns)?;
    Ok((table, map))
}

/// Lower-cases a header name and drops spaces, `_` and `-`, so the usual
/// spellings of one column compare equal.
pub fn normalize_header(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-' | '\t'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// A column a job understands: its canonical name and the accepted spellings
/// (compared after [`normalize_header`]).
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub required: bool,
    /// A required column a file may leave out when it has this other
    /// column (the fields of a new member, in a file whose `action`
    /// column may say the rows change existing ones).
    pub unless_present: Option<&'static str>,
}

impl Column {
    /// A column every file must have.
    pub const fn required(name: &'static str, aliases: &'static [&'static str]) -> Self {
        Self {
            name,
            aliases,
            required: true,
            unless_present: None,
        }
    }

    /// A column every file must have unless it has the column `other`.
    pub const fn required_unless(
        name: &'static str,
        aliases: &'static [&'static str],
        other: &'static str,
    ) -> Self {
        Self {
            name,
            aliases,
            required: true,
            unless_present: Some(other),
        }
    }

    /// A column a file may leave out.
    pub const fn optional(name: &'static str, aliases: &'static [&'static str]) -> Self {
        Self {
            name,
            aliases,
            required: false,
            unless_present: None,
        }
    }
}

/// Where each known column sits in a header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMap {
    positions: HashMap<&'static str, usize>,
    /// Position of an `error` column on input (ignored and replaced).
    pub error_column: Option<usize>,
    pub width: usize,
}

impl ColumnMap {
    /// Maps `headers` onto `columns`; unknown, duplicate or missing required
    /// columns make the header unusable.
    pub fn new(headers: &[String], columns: &[Column]) -> Result<Self, HeaderError> {
        let mut problems = Vec::new();
        let mut positions = HashMap::new();
        let mut error_column = None;
        if headers.iter().all(|h| h.is_empty()) {
            return Err(HeaderError {
                problems: vec!["the first line holds no column names".into()],
            });
        }
        for (index, header) in headers.iter().enumerate() {
            let key = normalize_header(header);
            if key == ERROR_COLUMN {
                error_column = Some(index);
                continue;
            }
            let known = columns
                .iter()
                .find(|c| normalize_header(c.name) == key || c.aliases.contains(&key.as_str()));
            match known {
                Some(column) => {
                    if positions.insert(column.name, index).is_some() {
                        problems.push(format!(
                            "column '{}' appears twice (as '{header}')",
                            column.name
                        ));
                    }
                }
                None if header.is_empty() => {
                    problems.push(format!("column {} has no name", index + 1))
                }
                None => problems.push(format!(
                    "unknown column '{header}' (known: {})",
                    columns
                        .iter()
                        .map(|c| c.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            }
        }
        for column in columns.iter().filter(|c| c.required) {
            let excused = column
                .unless_present
                .is_some_and(|other| positions.contains_key(other));
            if !excused && !positions.contains_key(column.name) {
                problems.push(format!("required column '{}' is missing", column.name));
            }
        }
        if problems.is_empty() {
            Ok(Self {
                positions,
                error_column,
                width: headers.len(),
            })
        } else {
            Err(HeaderError { problems })
        }
    }

    /// The trimmed value of `column` in `row`; empty when absent.
    pub fn get<'r>(&self, row: &'r Row, column: &str) -> &'r str {
        self.positions
            .get(column)
            .and_then(|i| row.fields.get(*i))
            .map(|v| v.trim())
            .unwrap_or("")
    }

    /// True when the file has the column at all.
    pub fn has(&self, column: &str) -> bool {
        self.positions.contains_key(column)
    }
}

/// Rewrites `table` keeping its header (plus an `error` column) and only the
/// rows in `remaining`, each with its error text. An `error` column already
/// on input is replaced.
pub fn rewrite(
    table: &Table,
    error_column: Option<usize>,
    remaining: &[(&Row, String)],
) -> Vec<u8> {
    let mut out = Vec::new();
    if table.had_bom {
        out.extend_from_slice(BOM);
    }
    let terminator = if table.crlf {
        csv::Terminator::CRLF
    } else {
        csv::Terminator::Any(b'\n')
    };
    let mut writer = csv::WriterBuilder::new()
        .flexible(true)
        .terminator(terminator)
        .from_writer(out);
    let keep = |fields: &[String]| -> Vec<String> {
        fields
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != error_column)
            .map(|(_, f)| f.clone())
            .collect()
    };
    let mut header = keep(&table.headers);
    let width = header.len();
    header.push(ERROR_COLUMN.to_string());
    // Writing to a Vec cannot fail; an error here would be a bug in csv.
    writer.write_record(&header).expect("write to memory");
    for (row, error) in remaining {
        let mut fields = keep(&row.fields);
        if fields.len() < width {
            fields.resize(width, String::new());
        }
        fields.push(error.clone());
        writer.write_record(&fields).expect("write to memory");
    }
    writer.into_inner().expect("flush to memory")
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLUMNS: &[Column] = &[
        Column {
            name: "username",
            aliases: &[],
            required: true,
            unless_present: None,
        },
        Column::optional("user type", &["usertypeid"]),
        Column::required("email", &[]),
    ];

    #[test]
    fn bom_crlf_quotes_and_blank_lines_are_read() {
        let file = b"\xEF\xBB\xBFUsername, User_Type ,EMAIL\r\n\r\njdoe,creatorUT,\"a@b.org\"\r\n\"x,y\",\"multi\r\nline\",c@d.org\r\n,,\r\nlast,viewerUT,e@f.org";
        let table = parse(file).unwrap();
        assert!(table.had_bom && table.crlf);
        assert_eq!(table.headers, ["Username", "User_Type", "EMAIL"]);
        let lines: Vec<u64> = table.rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, [3, 4, 7]);
        assert_eq!(table.rows[1].fields[1], "multi\r\nline");
        let map = ColumnMap::new(&table.headers, COLUMNS).unwrap();
        assert_eq!(map.get(&table.rows[0], "user type"), "creatorUT");
        assert_eq!(map.get(&table.rows[2], "email"), "e@f.org");
    }

    #[test]
    fn non_utf8_names_the_line() {
        let file = b"username,email\njdoe,a@b.org\nj\xE9r\xF4me,c@d.org\n";
        assert_eq!(parse(file), Err(TableError::NotUtf8 { line: 3 }));
    }

    #[test]
    fn empty_file_is_reported() {
        assert_eq!(parse(b""), Err(TableError::Empty));
        assert_eq!(parse(b"\xEF\xBB\xBF \r\n"), Err(TableError::Empty));
    }

    #[test]
    fn header_problems_are_all_listed() {
        let headers: Vec<String> = ["usr", "email", "Email"].map(String::from).to_vec();
        let err = ColumnMap::new(&headers, COLUMNS).unwrap_err();
        assert_eq!(err.problems.len(), 3, "{err}");
        assert!(err.to_string().contains("unknown column 'usr'"));
        assert!(err.to_string().contains("appears twice"));
        assert!(err
            .to_string()
            .contains("required column 'username' is missing"));
    }

    #[test]
    fn a_column_required_unless_another_is_excused_by_it() {
        let headers = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        const CONTACT: &[Column] = &[
            Column::required("username", &[]),
            Column::optional("notes", &[]),
            Column::required_unless("phone", &[], "notes"),
        ];
        assert!(ColumnMap::new(&headers(&["username", "notes"]), CONTACT).is_ok());
        assert!(ColumnMap::new(&headers(&["username", "phone"]), CONTACT).is_ok());
        let err = ColumnMap::new(&headers(&["username"]), CONTACT).unwrap_err();
        assert_eq!(err.problems, ["required column 'phone' is missing"]);
    }

    #[test]
    fn rewrite_keeps_header_and_replaces_error_column() {
        let file = b"username,error,email\njdoe,old reason,a@b.org\nkeep,,\"x, y\"\n";
        let table = parse(file).unwrap();
        let map = ColumnMap::new(&table.headers, COLUMNS).unwrap();
        assert_eq!(map.error_column, Some(1));
        let out = rewrite(
            &table,
            map.error_column,
            &[(
                &table.rows[1],
                "line 3: email: \"x, y\" is not an address".into(),
            )],
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "username,email,error\nkeep,\"x, y\",\"line 3: email: \"\"x, y\"\" is not an address\"\n"
        );
    }
}
