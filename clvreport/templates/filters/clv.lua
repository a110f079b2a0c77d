--[[
clvreport — pandoc Lua filter shared by the built-in renderer and the Quarto format.

Turns the report's markdown conventions into Typst components (see
templates/typst/typst-template.typ) and readable HTML:

  ::: {.key-figures}          row of key-figure boxes; holds .key-figure divs
  ::: {.key-figure}           one box: [value]{.value} [label]{.label} [note]{.note}
                              (spans as separate paragraphs or one paragraph with
                              line breaks; any order; .note optional)
  ::: {.finding}              highlighted conclusion
  ::: {.appendix}             lettered appendix sections (A, B, ...)
  ::: {.keep}                 blocks that stay on one page (a paragraph and its figure)

It also hands the brand's style values (metadata `clv.*`) to the Typst template
as raw strings and, outside Quarto (which does this itself): numbers figure and
table captions in HTML, turns @fig-/@tbl-/@sec- references into links (HTML)
or Typst references, wraps HTML tables for horizontal scrolling, and prefixes
relative image paths with `clv-image-root` (Typst compiles from _build/).
]]

local in_quarto = (quarto ~= nil)
local is_typst = FORMAT:match("typst") ~= nil
local is_html = FORMAT:match("html") ~= nil

-- Style values that go into Typst code as-is (strings or numbers), not as markup.
local RAW_KEYS = {
  "primary", "secondary", "accent", "background", "foreground", "base-font",
  "heading-font", "heading-weight", "base-size", "leading", "logo", "header-logo",
  "logo-alt", "pdf-author", "section-break", "header-client",
}

local WORDS = {
  nl = { figure = "Figuur", table = "Tabel" },
  en = { figure = "Figure", table = "Table" },
}

local lang = "nl"
local image_root = ""
local numbers = {} -- id -> { kind = "figure"|"table"|"section", n = number, text = inlines }

local function typst_string(text)
  return (text:gsub("\\", "\\\\"):gsub('"', '\\"'))
end

-- Text for an HTML attribute value (pandoc escapes text, but not quotes).
local HTML_ATTR = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&#39;" }
local function html_attr(text)
  return (text:gsub("[&<>\"']", HTML_ATTR))
end

-- Metadata that the HTML template puts inside attributes (alt="...", content="...").
local HTML_ATTR_KEYS = { "logo-src", "logo-alt", "client" }

local function typst_markup(inlines)
  local doc = pandoc.Pandoc({ pandoc.Plain(inlines) })
  local out = pandoc.write(doc, "typst")
  return (out:gsub("%s+$", ""))
end

-- Metadata ---------------------------------------------------------------------------

local function read_meta(meta)
  if meta.lang then
    lang = pandoc.utils.stringify(meta.lang):sub(1, 2)
  end
  if meta["clv-image-root"] then
    image_root = pandoc.utils.stringify(meta["clv-image-root"])
  end
  if is_typst and meta.clv then
    for _, key in ipairs(RAW_KEYS) do
      local value = meta.clv[key]
      if value ~= nil then
        local text = type(value) == "boolean" and tostring(value) or pandoc.utils.stringify(value)
        meta.clv[key] = pandoc.RawInline("typst", typst_string(text))
      end
    end
  end
  if is_html and meta.clv then
    -- `<key>-attr`: the plain text, escaped for an attribute value.
    for _, key in ipairs(HTML_ATTR_KEYS) do
      local value = meta.clv[key]
      if value ~= nil then
        meta.clv[key .. "-attr"] = pandoc.RawInline("html", html_attr(pandoc.utils.stringify(value)))
      end
    end
  end
  return meta
end

-- Key figures ------------------------------------------------------------------------

local function has_class(el, class)
  return el.classes ~= nil and el.classes:includes(class)
end

-- The value/label/note spans of a .key-figure div, wherever they sit in it.
local function key_figure_parts(div)
  local parts = {}
  div:walk({
    Span = function(span)
      for _, class in ipairs({ "value", "label", "note" }) do
        if has_class(span, class) and parts[class] == nil then
          parts[class] = span.content
        end
      end
    end,
  })
  return parts
end

local function key_figures_typst(boxes)
  local items = {}
  for _, div in ipairs(boxes) do
    local p = key_figure_parts(div)
    local fields = {}
    for _, class in ipairs({ "value", "label", "note" }) do
      if p[class] ~= nil then
        table.insert(fields, class .. ": [" .. typst_markup(p[class]) .. "]")
      end
    end
    table.insert(items, "  (" .. table.concat(fields, ", ") .. "),")
  end
  return pandoc.RawBlock("typst", "#key-figures((\n" .. table.concat(items, "\n") .. "\n))")
end

local function key_figures_html(boxes)
  -- One clean structure whatever the input layout: value, label, note as blocks.
  local out = {}
  for _, div in ipairs(boxes) do
    local p = key_figure_parts(div)
    local content = {}
    for _, class in ipairs({ "label", "value", "note" }) do
      if p[class] ~= nil then
        table.insert(content, pandoc.Div(pandoc.Plain(p[class]), pandoc.Attr("", { class })))
      end
    end
    table.insert(out, pandoc.Div(content, pandoc.Attr("", { "key-figure" })))
  end
  return out
end

local function key_figure_boxes(div)
  local boxes = {}
  for _, block in ipairs(div.content) do
    if block.t == "Div" and has_class(block, "key-figure") then
      table.insert(boxes, block)
    end
  end
  return boxes
end

-- Runs top-down, so a .key-figures div is replaced before its .key-figure children
-- are visited; a lone .key-figure becomes a row of one.
local function KeyFigures(div)
  if has_class(div, "key-figures") or has_class(div, "key-figure") then
    local boxes = has_class(div, "key-figures") and key_figure_boxes(div) or { div }
    if is_typst then
      return key_figures_typst(boxes), false
    elseif is_html then
      return pandoc.Div(key_figures_html(boxes), pandoc.Attr(div.identifier, { "key-figures" })), false
    end
  end
  return nil
end

-- The div's blocks inside a Typst content block opened by `open` ("#finding[").
local function typst_wrap(div, open)
  local blocks = { pandoc.RawBlock("typst", open) }
  for _, b in ipairs(div.content) do
    table.insert(blocks, b)
  end
  table.insert(blocks, pandoc.RawBlock("typst", "]"))
  return blocks
end

local function Div(div)
  if has_class(div, "keep") and is_typst then
    return typst_wrap(div, "#block(breakable: false, width: 100%)[")
  end
  if has_class(div, "finding") and is_typst then
    return typst_wrap(div, "#finding[")
  end
  if has_class(div, "appendix") and is_typst then
    local blocks = { pandoc.RawBlock("typst", "#show: clv-appendix") }
    for _, b in ipairs(div.content) do
      table.insert(blocks, b)
    end
    return blocks
  end
  if has_class(div, "appendix") and is_html and not in_quarto then
    -- Unwrapped so the sections reach the table of contents; lettered A, B, ...
    local letter, sub = 0, 0
    local blocks = {}
    for _, b in ipairs(div.content) do
      if b.t == "Header" and b.level <= 2 then
        if b.level == 1 then
          letter, sub = letter + 1, 0
        else
          sub = sub + 1
        end
        local number = string.char(64 + letter) .. (b.level == 2 and ("." .. sub) or "")
        b.classes:insert("unnumbered")
        b.classes:insert("appendix")
        b.content:insert(1, pandoc.Span({ pandoc.Str(number) }, pandoc.Attr("", { "header-section-number" })))
        b.content:insert(2, pandoc.Space())
      end
      table.insert(blocks, b)
    end
    return blocks
  end
  return nil
end

-- Numbering and references (built-in renderer only) --------------------------------

local function collect_numbers(doc)
  local counts = { figure = 0, table = 0 }
  doc:walk({
    Figure = function(fig)
      if fig.identifier ~= "" then
        counts.figure = counts.figure + 1
        numbers[fig.identifier] = { kind = "figure", n = counts.figure }
      end
    end,
    Table = function(tbl)
      if tbl.identifier ~= "" then
        counts.table = counts.table + 1
        numbers[tbl.identifier] = { kind = "table", n = counts.table }
      end
    end,
    Header = function(h)
      if h.identifier ~= "" then
        numbers[h.identifier] = { kind = "section", text = h.content }
      end
    end,
  })
end

local function label(kind, n)
  local words = WORDS[lang] or WORDS.en
  return words[kind] .. " " .. tostring(n)
end

local function caption_prefix(kind, n, caption)
  local prefix = pandoc.Span({ pandoc.Str(label(kind, n)) }, pandoc.Attr("", { "caption-label" }))
  local long = caption.long
  if #long > 0 and (long[1].t == "Plain" or long[1].t == "Para") then
    long[1].content:insert(1, pandoc.Space())
    long[1].content:insert(1, prefix)
  end
  return caption
end

local function Figure(fig)
  if is_html and numbers[fig.identifier] then
    fig.caption = caption_prefix("figure", numbers[fig.identifier].n, fig.caption)
    return fig
  end
end

-- Cells with more characters than this (and a space) may wrap in the HTML table.
local LONG_CELL = 20

-- HTML tables: the caption above a horizontally scrolling box, so a wide table
-- scrolls on a phone while its caption stays readable; short cells never wrap.
local function Table(tbl)
  if not is_html then
    return nil
  end
  local id = tbl.identifier
  local caption = {}
  if #tbl.caption.long > 0 then
    if numbers[id] then
      tbl.caption = caption_prefix("table", numbers[id].n, tbl.caption)
    end
    caption = { pandoc.Div(tbl.caption.long, pandoc.Attr("", { "table-caption" })) }
    tbl.caption = pandoc.Caption()
  end
  tbl.identifier = ""
  -- The browser sizes the columns by their content (report.css): the relative widths
  -- pandoc derives from the dashes of a pipe table are for the PDF's fixed page width.
  for i, spec in ipairs(tbl.colspecs) do
    tbl.colspecs[i] = { spec[1] }
  end
  -- Text that would make a column wide may wrap; short cells, amounts and ids never do.
  local function mark_long(cell)
    local text = pandoc.utils.stringify(cell.contents)
    if utf8.len(text) > LONG_CELL and text:find(" ") then
      cell.attr.classes:insert("long")
    end
  end
  -- Each cell carries its column's name, so a phone can show a row as a stacked card
  -- ("Kosten  € 153") instead of scrolling sideways (see report.css).
  local names = {}
  if #tbl.head.rows > 0 then
    for i, cell in ipairs(tbl.head.rows[1].cells) do
      names[i] = pandoc.utils.stringify(cell.contents)
    end
  end
  for _, body in ipairs(tbl.bodies) do
    for _, row in ipairs(body.body) do
      for i, cell in ipairs(row.cells) do
        mark_long(cell)
        if names[i] and names[i] ~= "" then
          cell.attr.attributes["data-label"] = names[i]
        end
      end
    end
  end
  local content = caption
  table.insert(content, pandoc.Div({ tbl }, pandoc.Attr("", { "table-scroll" })))
  return pandoc.Div(content, pandoc.Attr(id, { "table-wrap" }))
end

local function Cite(cite)
  local id = cite.citations[1].id
  local target = numbers[id]
  if #cite.citations ~= 1 or target == nil then
    -- A @fig-/@tbl-/@sec- reference to a missing target stays a reference (Typst
    -- reports it). Anything else is text such as "@klant" that slipped through
    -- unescaped: shown as it was written, never as a (bibliography) citation.
    for _, c in ipairs(cite.citations) do
      if c.id:match("^fig%-") or c.id:match("^tbl%-") or c.id:match("^sec%-") then
        return nil
      end
    end
    return cite.content
  end
  if is_typst then
    return pandoc.RawInline("typst", "@" .. id)
  end
  local text = target.kind == "section" and target.text or { pandoc.Str(label(target.kind, target.n)) }
  return pandoc.Link(text, "#" .. id)
end

local function Image(img)
  if is_typst and image_root ~= "" and not img.src:match("^%a[%w+.-]*:") and img.src:sub(1, 1) ~= "/" then
    img.src = image_root .. img.src
    return img
  end
end

-- Quarto runs its own crossref and figure handling: only the components apply there.
-- Typst shows a "-" that starts a word before a digit as a minus sign (U+2212): an id
-- such as -1042 would copy as another string. Escaped, it stays the hyphen it is in
-- the data and in HTML.
local function Str(str)
  if not is_typst then
    return nil
  end
  local rest = str.text:match("^%-(%d.*)$")
  if rest then
    return { pandoc.RawInline("typst", "\\-"), pandoc.Str(rest) }
  end
end

if in_quarto then
  return {
    { Meta = read_meta },
    { Str = Str },
    { traverse = "topdown", Div = KeyFigures },
    { Div = Div },
  }
end

return {
  { Meta = read_meta },
  { Str = Str },
  { Pandoc = function(doc) collect_numbers(doc) end },
  { traverse = "topdown", Div = KeyFigures },
  { Div = Div, Figure = Figure, Table = Table, Cite = Cite, Image = Image },
}
