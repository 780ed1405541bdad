-- Headless Neovim (0.7+) drives `ix lsp` with its built-in client: open a sweep, type an error,
-- see the diagnostic at its range, fix it, see it cleared; hover, definition, completion,
-- formatting. Run by tests/it/lsp_editors.rs:
--   IX_BIN=... IX_FILE=... IX_LOG=... nvim --headless -u NONE -l? (no: -c "luafile THIS")
local ix, file, log_path = os.getenv("IX_BIN"), os.getenv("IX_FILE"), os.getenv("IX_LOG")
local log = io.open(log_path, "w")
local function say(text) log:write(text .. "\n"); log:flush() end
local function fail(text) say("FAIL " .. text); log:close(); vim.cmd("cquit 1") end

vim.cmd("edit " .. file)
local buf = vim.api.nvim_get_current_buf()
local id = vim.lsp.start_client({ name = "ix", cmd = { ix, "lsp" }, root_dir = vim.fn.fnamemodify(file, ":h") })
if not id then fail("client did not start") end
vim.lsp.buf_attach_client(buf, id)
local function lines() return vim.api.nvim_buf_get_lines(buf, 0, -1, false) end
local function find(needle)
  for idx, line in ipairs(lines()) do
    local col = line:find(needle, 1, true)
    if col then return idx - 1, col - 1 end
  end
  fail("not found: " .. needle)
end
local function request(method, row, col, extra)
  local params = { textDocument = { uri = vim.uri_from_bufnr(buf) }, position = { line = row, character = col } }
  for k, v in pairs(extra or {}) do params[k] = v end
  local results = vim.lsp.buf_request_sync(buf, method, params, 10000)
  if not results or not results[id] or results[id].err then fail(method .. ": no result") end
  return results[id].result
end
local function wait_diags(n)
  return vim.wait(10000, function() return #vim.diagnostic.get(buf) == n end, 20)
end

if not vim.wait(10000, function()
  local client = vim.lsp.get_client_by_id(id)
  return client ~= nil and client.initialized
end, 20) then fail("client not initialized") end
if not wait_diags(0) then fail("the valid file has diagnostics") end
say("OK open: no diagnostics")

-- Type an error: `sim-fast` -> `sim-fsat`.
local row, col = find("framework sim-fast")
vim.api.nvim_buf_set_text(buf, row, col + 10, row, col + 18, { "sim-fsat" })
if not wait_diags(1) then fail("no diagnostic after typing an error") end
local d = vim.diagnostic.get(buf)[1]
if d.lnum ~= row or d.col ~= col + 10 or d.end_col ~= col + 18 then
  fail(string.format("diagnostic at %d:%d-%d, expected %d:%d-%d", d.lnum, d.col, d.end_col, row, col + 10, col + 18))
end
if not d.message:find("did you mean `sim-fast`", 1, true) then fail("message: " .. d.message) end
say(string.format("OK diagnostic at %d:%d-%d: %s", d.lnum, d.col, d.end_col, d.message:gsub("\n", " | ")))

-- Fix it: cleared.
vim.api.nvim_buf_set_text(buf, row, col + 10, row, col + 18, { "sim-fast" })
if not wait_diags(0) then fail("diagnostic not cleared after the fix") end
say("OK cleared after the fix")

-- Hover on a sweep: its jobs.
local srow, scol = find("sweep tiny-fp32-local-sim-fast")
local hover = request("textDocument/hover", srow, scol + 8)
if not (hover and hover.contents.value:find("3 job(s)", 1, true)) then fail("hover: " .. vim.inspect(hover)) end
say("OK hover: " .. hover.contents.value:match("[^\n]*job%(s%)[^\n]*"))

-- Definition of the parent template.
local pcol = lines()[srow + 1]:find(": tiny {", 1, true) - 1
local def = request("textDocument/definition", srow, pcol + 3)
local trow = find("template tiny")
if not (def and def.range and def.range.start.line == trow) then fail("definition: " .. vim.inspect(def)) end
say("OK definition: template at line " .. trow)

-- Completion of framework values.
vim.api.nvim_buf_set_text(buf, row, col + 10, row, col + 18, { "" })
local items = request("textDocument/completion", row, col + 10)
local labels = {}
for _, item in ipairs(items.items or items) do labels[item.label] = true end
if not labels["sim-fast"] then fail("completion: " .. vim.inspect(items)) end
say("OK completion offers sim-fast")
vim.api.nvim_buf_set_text(buf, row, col + 10, row, col + 10, { "sim-fast" })

-- Formatting: a badly indented line comes back canonical.
local before = lines()
local irow = find("  image")
vim.api.nvim_buf_set_lines(buf, irow, irow + 1, false, { "        " .. vim.trim(before[irow + 1]) })
vim.lsp.buf.formatting_sync(nil, 10000)
if table.concat(lines(), "\n") ~= table.concat(before, "\n") then fail("formatting: " .. table.concat(lines(), "\n")) end
say("OK formatting restored the canonical text")
log:close()
vim.lsp.stop_client(id)
vim.cmd("qall!")
