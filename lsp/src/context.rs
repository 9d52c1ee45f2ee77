//! Where the cursor is, read off the text before it alone: the block path it is in, whether
//! it starts a statement or writes an attribute's value (inside a list or a call too), and
//! the word or string being typed. A lexical scan rather than the parse, because the text
//! being completed rarely parses.

/// What kind of bracket the cursor is inside.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// The file itself.
    Top,
    /// A block of this kind (`compute`, `workers`); empty when it had no header.
    Block(String),
    /// `[ ... ]`.
    List,
    /// `name( ... )`.
    Call(String),
    /// `( ... )` in an expression.
    Paren,
}

/// Where within its frame's current statement or element the cursor is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Before a statement, argument or element.
    Start,
    /// After a statement's first words, before `=` or `{`.
    Head,
    /// Where an operand goes: after `=`, an operator, `,` in a list, `name =` in a call.
    Value,
    /// After an operand.
    Operand,
}

#[derive(Clone, Debug)]
struct Level {
    frame: Frame,
    state: State,
    /// The current statement's words before `=` or `{` (`workers`, `gpu`).
    words: Vec<String>,
    /// The attribute (or argument) whose value is being written.
    key: Option<String>,
    /// Attributes already written in this block, with their first word of value.
    set: Vec<(String, Option<String>)>,
}

impl Level {
    fn new(frame: Frame, state: State) -> Level {
        Level { frame, state, words: Vec::new(), key: None, set: Vec::new() }
    }
}

/// The cursor's context.
#[derive(Clone, Debug)]
pub struct Context {
    levels: Vec<Level>,
    /// Where the word or string content being typed starts (the cursor when none is).
    pub start: usize,
    /// The word or string content typed so far.
    pub typed: String,
    /// The cursor is inside a string literal.
    pub in_string: bool,
}

impl Context {
    /// The innermost frame and where in it the cursor is.
    pub fn innermost(&self) -> (&Frame, State) {
        self.levels.last().map_or((&Frame::Top, State::Start), |l| (&l.frame, l.state))
    }

    /// The kinds of the blocks around the cursor, outermost first.
    pub fn block_path(&self) -> Vec<&str> {
        self.levels
            .iter()
            .filter_map(|l| match &l.frame {
                Frame::Block(kind) => Some(kind.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The attribute whose value the cursor is in (through lists, calls and parentheses),
    /// with the block path it belongs to.
    pub fn attribute(&self) -> Option<(Vec<&str>, &str)> {
        let block = self.levels.iter().rposition(|l| matches!(l.frame, Frame::Block(_) | Frame::Top))?;
        let level = self.levels.get(block)?;
        let key = level.key.as_deref()?;
        let inside_value = block + 1 < self.levels.len() || level.state == State::Value;
        inside_value.then(|| (self.block_path(), key))
    }

    /// The first word of the value of `name` as written in the innermost block so far, or in
    /// the top-level block around it.
    pub fn written(&self, name: &str, top_level: bool) -> Option<&str> {
        let mut blocks = self.levels.iter().filter(|l| matches!(l.frame, Frame::Block(_)));
        let level = if top_level { blocks.next() } else { blocks.next_back() }?;
        level.set.iter().find(|(k, _)| k == name).and_then(|(_, v)| v.as_deref())
    }

    /// The attributes already written in the innermost block.
    pub fn already_set(&self) -> impl Iterator<Item = &str> {
        let level = self.levels.iter().rev().find(|l| matches!(l.frame, Frame::Block(_) | Frame::Top));
        level.into_iter().flat_map(|l| l.set.iter().map(|(k, _)| k.as_str()))
    }
}

/// A token of the text before the cursor.
#[derive(Debug, PartialEq)]
enum Token<'t> {
    Open(char),
    Close(char),
    Comma,
    Assign,
    Operator,
    Word(&'t str),
    /// A string literal; `false` when it is still open at the cursor.
    Str(bool),
    /// A line end (outside strings and comments' text).
    Newline,
}

/// Reads the context of the cursor at byte `offset` of `text`.
pub fn at(text: &str, offset: usize) -> Context {
    let before = text.get(..offset).unwrap_or(text);
    let tokens = lex(before);
    let mut context = Context {
        levels: vec![Level::new(Frame::Top, State::Start)],
        start: offset,
        typed: String::new(),
        in_string: false,
    };
    let mut tokens = tokens.as_slice();
    match tokens.last() {
        Some((start, Token::Word(w))) if start + w.len() == before.len() => {
            context.start = *start;
            context.typed = (*w).to_string();
            tokens = tokens.split_last().map_or(tokens, |(_, rest)| rest);
        }
        Some((start, Token::Str(false))) => {
            context.start = start + 1;
            context.typed = before.get(start + 1..).unwrap_or("").to_string();
            context.in_string = true;
            tokens = tokens.split_last().map_or(tokens, |(_, rest)| rest);
        }
        _ => {}
    }
    for (_, token) in tokens {
        step(&mut context.levels, token);
    }
    context
}

/// A name the text defines: the kinds of the blocks it is in and its own (`["compute",
/// "workers"]` for a worker group; `["let"]` for a let), its name, and the compute it is in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Defined {
    pub kinds: Vec<String>,
    pub name: String,
}

/// Every block header with a name, and every `let`, read lexically: a block being edited
/// (which does not parse) still defines its name and its worker groups.
pub fn definitions(text: &str) -> Vec<Defined> {
    let mut levels = vec![Level::new(Frame::Top, State::Start)];
    let mut out = Vec::new();
    for (_, token) in lex(text) {
        if let Some(level) = levels.last() {
            let path = || {
                levels.iter().filter_map(|l| match &l.frame {
                    Frame::Block(kind) => Some(kind.clone()),
                    _ => None,
                })
            };
            match (&token, level.state, level.words.as_slice()) {
                (Token::Open('{'), State::Head, [kind, name]) => {
                    out.push(Defined { kinds: path().chain([kind.clone()]).collect(), name: name.clone() });
                }
                (Token::Assign, State::Head, [kind, name]) if kind == "let" && level.frame == Frame::Top => {
                    out.push(Defined { kinds: vec![kind.clone()], name: name.clone() });
                }
                _ => {}
            }
        }
        step(&mut levels, &token);
    }
    out
}

fn step(levels: &mut Vec<Level>, token: &Token<'_>) {
    let Some(level) = levels.last_mut() else { return };
    match token {
        Token::Open('{') => {
            let kind = if level.state == State::Head { level.words.first().cloned() } else { None };
            level.state = State::Start;
            level.words.clear();
            levels.push(Level::new(Frame::Block(kind.unwrap_or_default()), State::Start));
        }
        Token::Open('[') => {
            level.state = State::Operand;
            levels.push(Level::new(Frame::List, State::Value));
        }
        Token::Open(_) => {
            // `name(` calls `name` when the name was the operand just written.
            let callee = (level.state == State::Operand).then(|| level.words.last().cloned()).flatten();
            level.state = State::Operand;
            let frame = callee.map_or(Frame::Paren, Frame::Call);
            let state = if matches!(frame, Frame::Call(_)) { State::Start } else { State::Value };
            levels.push(Level::new(frame, state));
        }
        Token::Close(_) => {
            if levels.len() > 1 {
                let closed = levels.pop();
                if let (Some(parent), Some(closed)) = (levels.last_mut(), closed) {
                    parent.state =
                        if matches!(closed.frame, Frame::Block(_)) { State::Start } else { State::Operand };
                }
            }
        }
        Token::Comma => {
            level.state = if matches!(level.frame, Frame::Call(_)) { State::Start } else { State::Value };
            level.words.clear();
        }
        Token::Assign => {
            // Values hold no bare `=`: after an operand, the operand was the next key.
            let next_key = level.state == State::Operand
                && matches!(level.frame, Frame::Block(_) | Frame::Top)
                && level.words.len() == 1;
            if level.state == State::Head || next_key {
                level.key = level.words.first().cloned();
                if let Some(key) = &level.key {
                    level.set.push((key.clone(), None));
                }
            }
            level.state = State::Value;
        }
        Token::Operator => level.state = State::Value,
        // A value left empty at the end of its line (being written, or not yet): the next
        // line starts a statement rather than continuing it.
        Token::Newline
            if level.state == State::Value && matches!(level.frame, Frame::Block(_) | Frame::Top) =>
        {
            let empty = level.set.last().is_some_and(|(_, first)| first.is_none());
            if empty {
                level.state = State::Start;
            }
        }
        Token::Newline => {}
        Token::Str(_) => operand(level, None),
        // Words that are operators (`a and b`, `1..5 step 1`) expect an operand after them;
        // a call's output (`macd(...).line`) belongs to the operand before it.
        Token::Word("and" | "or" | "step") if level.state == State::Operand => level.state = State::Value,
        Token::Word("not") if level.state == State::Value => {}
        Token::Word(w) if w.starts_with('.') && level.state == State::Operand => {}
        Token::Word(w) => match level.state {
            State::Start | State::Head if !matches!(level.frame, Frame::List | Frame::Paren) => {
                if level.state == State::Start {
                    level.words.clear();
                    level.key = None;
                }
                level.words.push((*w).to_string());
                level.state = State::Head;
            }
            State::Operand if matches!(level.frame, Frame::Block(_) | Frame::Top) => {
                // Two operands in a row: the second starts the next statement.
                level.words = vec![(*w).to_string()];
                level.key = None;
                level.state = State::Head;
            }
            _ => operand(level, Some(w)),
        },
    }
}

fn operand(level: &mut Level, word: Option<&str>) {
    if level.state == State::Value {
        if let (Some(word), Some((_, first @ None))) = (word, level.set.last_mut()) {
            *first = Some(word.to_string());
        }
    }
    level.words = word.map(|w| vec![w.to_string()]).unwrap_or_default();
    level.state = State::Operand;
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '.' | '$' | '%' | '-')
}

fn lex(text: &str) -> Vec<(usize, Token<'_>)> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let token = match c {
            '\n' => Token::Newline,
            c if c.is_whitespace() => continue,
            '#' => {
                skip_line(&mut chars);
                Token::Newline
            }
            '/' if chars.peek().map(|p| p.1) == Some('/') => {
                skip_line(&mut chars);
                Token::Newline
            }
            '{' | '[' | '(' => Token::Open(c),
            '}' | ']' | ')' => Token::Close(c),
            ',' => Token::Comma,
            '"' => {
                let mut closed = false;
                while let Some((_, s)) = chars.next() {
                    match s {
                        '\\' => {
                            chars.next();
                        }
                        '"' => {
                            closed = true;
                            break;
                        }
                        _ => {}
                    }
                }
                Token::Str(closed)
            }
            '+' | '-' | '*' | '/' | '<' | '>' | '=' | '!' => {
                let mut end = at + c.len_utf8();
                while let Some(&(i, o)) = chars.peek() {
                    if !matches!(o, '=' | '<' | '>' | '!') {
                        break;
                    }
                    end = i + o.len_utf8();
                    chars.next();
                }
                if text.get(at..end) == Some("=") {
                    Token::Assign
                } else {
                    Token::Operator
                }
            }
            c if is_word_char(c) => {
                let mut end = at + c.len_utf8();
                while let Some(&(i, w)) = chars.peek() {
                    if !is_word_char(w) {
                        break;
                    }
                    end = i + w.len_utf8();
                    chars.next();
                }
                Token::Word(text.get(at..end).unwrap_or(""))
            }
            _ => continue,
        };
        out.push((at, token));
    }
    out
}

fn skip_line(chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>) {
    for (_, c) in chars.by_ref() {
        if c == '\n' {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(text_with_cursor: &str) -> Context {
        let offset = text_with_cursor.find('|').expect("a cursor");
        let text = text_with_cursor.replacen('|', "", 1);
        at(&text, offset)
    }

    #[test]
    fn statements_and_values() {
        let c = context("compute evo {\n  cloud = lab\n  wor|");
        assert_eq!(c.block_path(), ["compute"]);
        assert_eq!(c.innermost(), (&Frame::Block("compute".into()), State::Operand));
        assert_eq!(c.typed, "wor");
        assert_eq!(c.written("cloud", true), Some("lab"));

        let c = context("compute evo {\n  workers cpu {\n    market = s|");
        assert_eq!(c.attribute(), Some((vec!["compute", "workers"], "market")));
        assert_eq!((c.start, c.typed.as_str()), (43, "s"));

        let c = context("compute evo {\n  head { instance_type = \"c5.x|\" }");
        assert!(c.in_string);
        assert_eq!(c.typed, "c5.x");
        assert_eq!(c.attribute(), Some((vec!["compute", "head"], "instance_type")));
    }

    #[test]
    fn lists_calls_and_operators() {
        let c = context("monitor m {\n  metrics = [generation, |");
        assert_eq!(c.attribute(), Some((vec!["monitor"], "metrics")));
        assert_eq!(c.innermost(), (&Frame::List, State::Value));

        let c = context("job j {\n  strategy = sma_crossover(fast = 2..5, |");
        assert_eq!(c.innermost(), (&Frame::Call("sma_crossover".into()), State::Start));

        let c = context("job j {\n  fitness = sharpe * (1 - max_|");
        assert_eq!(c.attribute(), Some((vec!["job"], "fitness")));
        assert_eq!(c.innermost(), (&Frame::Paren, State::Value));

        let c = context("job j {\n  population = 200 # a comment { \n  gen|");
        assert_eq!(c.innermost(), (&Frame::Block("job".into()), State::Operand));
        assert_eq!(c.attribute(), None);
    }

    #[test]
    fn definitions_include_blocks_being_edited() {
        let text =
            "let n = 2\ncompute evo {\n  cloud = \n  workers cpu { max = }\n}\njob j { compute = evo }";
        let found: Vec<(Vec<String>, String)> =
            definitions(text).into_iter().map(|d| (d.kinds, d.name)).collect();
        let kinds = |k: &[&str]| k.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            found,
            [
                (kinds(&["let"]), "n".to_string()),
                (kinds(&["compute"]), "evo".to_string()),
                (kinds(&["compute", "workers"]), "cpu".to_string()),
                (kinds(&["job"]), "j".to_string()),
            ]
        );
    }

    #[test]
    fn top_level_after_blocks() {
        let c = context("cloud lab { provider = local }\nco|");
        assert_eq!(c.innermost(), (&Frame::Top, State::Start));
        assert_eq!(c.typed, "co");
        let c = context("let x = 3\n|");
        assert_eq!(c.innermost(), (&Frame::Top, State::Operand));
    }
}
