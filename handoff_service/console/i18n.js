/*
 * The console's words, in English and Chinese: one dictionary.
 *
 * Every string the console shows (text, placeholders, titles, aria-labels) is
 * written in English in the code and goes through t(); the Chinese is looked
 * up here by that English text, with {name}-style placeholders filled after
 * the lookup. Static text in index.html is marked with data-i18n (its text)
 * and data-i18n-attr="placeholder title aria-label" (those attributes), and
 * translated by applyStatic(). Dates and times follow the chosen locale.
 *
 * The agent's choice is remembered in localStorage (this browser) and saved
 * on the service with PATCH /api/me (every browser the agent signs in from).
 */

export const LOCALES = ["en", "zh"];
const STORE_KEY = "handoff-console-language";
const INTL = { en: "en-US", zh: "zh-CN" };

let locale = "en";
const listeners = [];

/** ``text`` (English) in the console's language, its {placeholders} filled from ``vars``. */
export function t(text, vars) {
  const table = ZH;
  let out = locale === "zh" && Object.prototype.hasOwnProperty.call(table, text) ? table[text] : text;
  if (vars) {
    out = out.replace(/\{(\w+)\}/g, (whole, name) =>
      Object.prototype.hasOwnProperty.call(vars, name) && vars[name] != null ? String(vars[name]) : whole);
  }
  return out;
}

export function getLocale() {
  return locale;
}

/** The BCP 47 tag of the console's language, for Intl and <html lang>. */
export function intlLocale() {
  return INTL[locale] || "en-US";
}

export function isLocale(value) {
  return LOCALES.indexOf(value) >= 0;
}

/** The language remembered in this browser, else the browser's own (zh or en). */
export function initialLocale() {
  let stored = null;
  try {
    stored = window.localStorage.getItem(STORE_KEY);
  } catch (err) {
    stored = null;
  }
  if (isLocale(stored)) return stored;
  const nav = String(navigator.language || "").toLowerCase();
  return nav.indexOf("zh") === 0 ? "zh" : "en";
}

/** Switch the console's language (remembered in this browser); listeners re-render. */
export function setLocale(value) {
  if (!isLocale(value)) return;
  const changed = value !== locale;
  locale = value;
  try {
    window.localStorage.setItem(STORE_KEY, value);
  } catch (err) {
    /* storage disabled: this page only */
  }
  document.documentElement.lang = intlLocale();
  applyStatic(document);
  if (changed) listeners.forEach((fn) => fn(locale));
}

export function onLocale(fn) {
  listeners.push(fn);
}

/** Translate the static text of ``root``: data-i18n (text) and data-i18n-attr (attributes). */
export function applyStatic(root) {
  root.querySelectorAll("[data-i18n]").forEach((node) => {
    if (node.getAttribute("data-i18n-src") == null) {
      node.setAttribute("data-i18n-src", node.getAttribute("data-i18n") || node.textContent.trim());
    }
    node.textContent = t(node.getAttribute("data-i18n-src"));
  });
  root.querySelectorAll("[data-i18n-attr]").forEach((node) => {
    node.getAttribute("data-i18n-attr").split(/\s+/).filter(Boolean).forEach((attr) => {
      const keep = "data-i18n-src-" + attr;
      if (node.getAttribute(keep) == null) node.setAttribute(keep, node.getAttribute(attr) || "");
      node.setAttribute(attr, t(node.getAttribute(keep)));
    });
  });
}

/** A date and time in the console's locale ("" for none). */
export function formatTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return isNaN(date.getTime()) ? String(iso) : date.toLocaleString(intlLocale());
}

/** A span in words: "12 min", "1 h 5 min" ("12 分钟", "1 小时 5 分钟"); ``up`` rounds up. */
export function formatMinutes(seconds, up) {
  const minutes = up ? Math.ceil(seconds / 60) : Math.floor(seconds / 60);
  if (minutes < 1) return t("<1 min");
  if (minutes < 60) return t("{n} min", { n: minutes });
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m ? t("{h} h {m} min", { h: h, m: m }) : t("{h} h", { h: h });
}

/** "a, b or c" / "a、b 或 c". */
export function orList(words) {
  if (words.length < 2) return words.join("");
  return words.slice(0, -1).join(t(", ")) + t(" or ") + words[words.length - 1];
}

export function andList(words) {
  if (words.length < 2) return words.join("");
  return words.slice(0, -1).join(t(", ")) + t(" and ") + words[words.length - 1];
}

/** Every English text the dictionary translates (for tests of its coverage). */
export function dictionaryKeys() {
  return Object.keys(ZH);
}

// ------------------------------------------------------------------ Chinese
// Keys are the English texts exactly as the code writes them.
const ZH = {
  "Only admins can see these counts.": "只有管理员能查看这些统计。",
  "Could not load the counts: {why}": "无法加载统计：{why}",
  "none": "无",
  "Updated {time}": "更新于 {time}",
  "Could not load the agents: {why}": "无法加载客服列表：{why}",
  "me": "我",
  "disabled": "已停用",
  "active": "启用中",
  "Enable": "启用",
  "Disable": "停用",
  "New token": "新令牌",
  "Not done: {why}": "操作未完成：{why}",
  "New token for {name}": "{name} 的新令牌",
  "the token": "令牌",
  "Give the agent a name.": "请填写客服名称。",
  "An agent called {name} already exists.": "已存在名为 {name} 的客服。",
  "Not added: {why}": "未添加：{why}",
  "Support console": "客服工作台",
  "New urgent ticket {ref}": "新的紧急工单 {ref}",
  "First reply due soon: {ref}": "即将超出首次回复时限：{ref}",
  "Alerts on": "提醒已开启",
  "Enable alerts": "开启提醒",
  "Sound and desktop notifications are on; press to turn them off": "声音和桌面通知已开启；点击可关闭",
  "Sound and a desktop notification for a new urgent ticket or a first reply about to be late": "有新的紧急工单或首次回复即将超时时，发出提示音和桌面通知",
  "Add canned reply": "添加快捷回复",
  "Save changes": "保存修改",
  "Last changed by {name}, {time}": "最后由 {name} 修改于 {time}",
  "Edit": "编辑",
  "Edit /{shortcut} ({language})": "编辑 /{shortcut}（{language}）",
  "Delete": "删除",
  "Delete /{shortcut} ({language})": "删除 /{shortcut}（{language}）",
  "Press again to delete": "再按一次确认删除",
  "Not deleted: {why}": "未删除：{why}",
  "No canned replies yet.": "还没有快捷回复。",
  "A shortcut is 2 to 32 characters: a-z, 0-9 and -.": "快捷指令为 2 到 32 个字符：a-z、0-9 和 -。",
  "A canned reply needs a title and a text.": "快捷回复需要标题和正文。",
  "The shortcut /{shortcut} already exists in this language.": "该语言下已存在快捷指令 /{shortcut}。",
  "Not saved: {why}": "未保存：{why}",
  "Your token is no longer accepted (revoked?). Sign in again.": "你的令牌已失效（可能已被吊销），请重新登录。",
  "Live": "实时",
  "Service unreachable, retrying…": "无法连接服务，正在重试…",
  "Wrong token: this agent token is unknown or has been revoked.": "令牌错误：该客服令牌不存在或已被吊销。",
  "That is the assistant's bot token, not an agent token.": "这是机器人助手的令牌，不是客服令牌。",
  "Cannot reach the handoff service. Try again in a moment.": "无法连接转人工服务，请稍后再试。",
  "Sign-in failed: {why}": "登录失败：{why}",
  "Your saved token is no longer accepted. Sign in again.": "保存的令牌已失效，请重新登录。",
  "(no title)": "（无标题）",
  "Waiting for a first agent reply (target {target})": "等待客服首次回复（目标 {target}）",
  "Time to the first agent reply": "客服首次回复用时",
  "first reply due in {span}": "{span}内需首次回复",
  "overdue by {span}": "已超时 {span}",
  "first reply after {span}": "首次回复用时 {span}",
  "first reply {span} late": "首次回复晚了 {span}",
  "no agent reply": "客服未回复",
  "First-reply target for {priority} tickets: {target}": "{priority}工单的首次回复目标：{target}",
  "(due {time})": "（截止 {time}）",
  "waiting": "等待中",
  "first reply": "首次回复",
  "resolved in {span}": "{span}内解决",
  "From the ticket's creation to its resolution": "从工单创建到解决",
  "Loading…": "加载中…",
  "This ticket does not exist.": "该工单不存在。",
  "assigned to {name}": "处理人：{name}",
  "unassigned": "未分配",
  "Claim the ticket to reply.": "认领工单后才能回复。",
  "Claimed by another agent ({name}).": "已被其他客服认领（{name}）。",
  "This ticket is {status}.": "该工单状态为：{status}。",
  "Claimed by another agent: {name}. Only they can reply or resolve.": "已被其他客服认领：{name}。只有该客服可以回复或解决。",
  "someone else": "其他人",
  "Reply to the user (Enter sends, Shift+Enter for a new line; / or Ctrl+K for canned replies; paste an image to attach it)": "回复用户（Enter 发送，Shift+Enter 换行；输入 / 或按 Ctrl+K 使用快捷回复；可粘贴图片作为附件）",
  "This ticket was claimed by another agent; you cannot reply to it or resolve it.": "该工单已被其他客服认领，你不能回复或解决它。",
  "Claim the ticket before replying.": "请先认领工单再回复。",
  "Screenshot from the agent": "客服发送的截图",
  "Screenshot from the user": "用户发送的截图",
  "{alt}, open full size": "{alt}，查看原图",
  "Open full size": "查看原图",
  "Screenshot unavailable": "截图无法显示",
  "Screenshots, oldest first": "截图（按时间先后）",
  "Text read from the image: ": "从图片识别的文字：",
  "no text found": "未识别到文字",
  "Loading the full-size image…": "正在加载原图…",
  "{alt} (full size)": "{alt}（原图）",
  "The image could not be loaded: it no longer exists.": "图片无法加载：图片已不存在。",
  "The image could not be loaded. Close and try again.": "图片无法加载，请关闭后重试。",
  "{name} (agent)": "{name}（客服）",
  "button": "按钮",
  "Only {types} images can be attached (this file is {type}).": "只能附加 {types} 图片（该文件为 {type}）。",
  "Only {types} images can be attached.": "只能附加 {types} 图片。",
  "This image file is empty.": "该图片文件为空。",
  "This image is too large ({size}); the limit is {limit}.": "图片太大（{size}），上限为 {limit}。",
  "Image refused, not sent: ": "图片被拒绝，未发送：",
  "it seems to show {what}.": "图片中似乎有{what}。",
  "it seems to show a wallet secret.": "图片中似乎有钱包密钥信息。",
  "Images showing a recovery phrase or private key are never stored or sent to the user.": "显示助记词或私钥的图片不会被保存，也不会发送给用户。",
  "Image too large, not sent: the limit is {limit}.": "图片太大，未发送：上限为 {limit}。",
  "Image not sent: only {types} images can be attached.": "图片未发送：只能附加 {types} 图片。",
  "Too many images or messages just now: wait a moment, then press Send again.": "刚才发送的图片或消息太多，请稍等片刻再点发送。",
  "Cannot reach the handoff service; the image was not sent. Try again.": "无法连接转人工服务，图片未发送，请重试。",
  "The image was not sent: {why}": "图片未发送：{why}",
  "Image to send: {name}": "待发送图片：{name}",
  "pasted image": "粘贴的图片",
  "Uploading the image": "正在上传图片",
  "Uploading… {n}%": "上传中… {n}%",
  "uploaded": "已上传",
  "Remove": "移除",
  "Remove the image from the reply": "从回复中移除图片",
  "Enter your agent token.": "请输入客服令牌。",
  "Copy": "复制",
  "Copy {what}": "复制{what}",
  "Copied": "已复制",
  "Copy failed": "复制失败",
  "<1 min": "不到 1 分钟",
  "{n} min": "{n} 分钟",
  "{h} h {m} min": "{h} 小时 {m} 分钟",
  "{h} h": "{h} 小时",
  ", ": "、",
  " or ": " 或 ",
  " and ": " 和 ",
  "Open on {explorer} ({network}), in a new tab": "在 {explorer}（{network}）中打开（新标签页）",
  "Not rated yet": "尚未评分",
  "Asked once the ticket is resolved": "工单解决后会请用户评分",
  "{n} of 5": "{n} / 5 分",
  "No tags": "暂无标签",
  "Remove the tag {tag}": "移除标签 {tag}",
  "Tags are 1 to 32 lower-case letters, digits, - or _ (or Chinese), at most 10 per ticket.": "标签为 1 到 32 个小写字母、数字、- 或 _（或中文），每个工单最多 10 个。",
  "The tags were not saved: {why}": "标签未保存：{why}",
  "At most {n} tags per ticket.": "每个工单最多 {n} 个标签。",
  "No notes yet.": "还没有备注。",
  "The note was not saved: {why}": "备注未保存：{why}",
  "No other tickets.": "没有其他工单。",
  "Only the assignee or an admin can do this.": "只有处理人或管理员可以执行此操作。",
  "No other active agent": "没有其他在岗客服",
  "Type at least 3 characters.": "请至少输入 3 个字符。",
  "Searching…": "搜索中…",
  "{n} found for “{q}”": "“{q}”找到 {n} 个结果",
  "Nothing found for “{q}”": "“{q}”没有找到结果",
  "Search failed: {why}": "搜索失败：{why}",
  "Wallet support · agent console": "钱包客服 · 客服工作台",
  "Admin view": "管理视图",
  "Console language": "界面语言",
  "Signed in as": "当前登录",
  "Sign out": "退出登录",
  "Sign in": "登录",
  "Agent token": "客服令牌",
  "paste the token from `handoff-service agent add`": "粘贴 `handoff-service agent add` 给出的令牌",
  "The token is kept in this browser tab only (sessionStorage).": "令牌只保存在当前浏览器标签页（sessionStorage）。",
  "Queue": "队列",
  "Search tickets": "搜索工单",
  "Reference, hash, address, e-mail or conversation": "工单号、哈希、地址、邮箱或会话 ID",
  "Search": "搜索",
  "Clear search": "清除搜索",
  "Search results": "搜索结果",
  "Status": "状态",
  "Active (open + assigned)": "进行中（待处理 + 处理中）",
  "Open": "待处理",
  "Assigned": "处理中",
  "Resolved": "已解决",
  "Closed": "已关闭",
  "All": "全部",
  "Category": "类别",
  "Language": "语言",
  "Tag": "标签",
  "No tickets match these filters.": "没有符合筛选条件的工单。",
  "Tickets, most urgent first": "工单（最紧急的在前）",
  "Pick a ticket from the queue.": "从队列中选择一个工单。",
  "Claim": "认领",
  "Resolve": "解决",
  "Unassign": "取消认领",
  "Transfer": "转交",
  "Close": "关闭",
  "Show or hide the details": "显示或隐藏详情",
  "Details": "详情",
  "Transfer to": "转交给",
  "Cancel": "取消",
  "Conversation": "对话",
  "Conversation transcript": "对话记录",
  "Find a canned reply": "查找快捷回复",
  "Find a canned reply (shortcut or words)": "查找快捷回复（指令或关键词）",
  "Canned replies": "快捷回复",
  "No canned reply matches.": "没有匹配的快捷回复。",
  "↑ ↓ to choose, Enter to insert, Escape to close. Nothing is sent until you press Send.": "↑ ↓ 选择，Enter 插入，Esc 关闭。点击发送前不会发出任何内容。",
  "Reply to the user": "回复用户",
  "Canned replies (/ or Ctrl+K)": "快捷回复（/ 或 Ctrl+K）",
  "Attach an image": "附加图片",
  "Attach an image (PNG, JPEG or WebP); you can also paste one": "附加图片（PNG、JPEG 或 WebP），也可以直接粘贴",
  "Send": "发送",
  "Ticket details": "工单详情",
  "Summary": "摘要",
  "Rating": "评分",
  "Tags": "标签",
  "Add a tag": "添加标签",
  "add a tag (a-z, 0-9, - _)": "添加标签（a-z、0-9、- _）",
  "Add": "添加",
  "Internal notes": "内部备注",
  "internal, never sent to the user": "仅内部可见，不会发给用户",
  "Internal note": "内部备注",
  "A note for agents only: never sent to the user": "仅客服可见的备注：不会发送给用户",
  "Add note": "添加备注",
  "Other tickets of this user": "该用户的其他工单",
  "Admin": "管理",
  "Overview": "概览",
  "Agents": "客服",
  "Back to the queue": "返回队列",
  "Live counts, refreshed every few seconds.": "实时统计，每隔几秒刷新。",
  "Name": "名称",
  "Role": "角色",
  "agent": "客服",
  "admin": "管理员",
  "Add agent": "添加客服",
  "Give this token to the agent now: it is shown only once.": "请现在把令牌交给该客服：它只显示这一次。",
  "Done": "完成",
  "State": "状态",
  "Since": "创建时间",
  "Actions": "操作",
  "Shortcut": "快捷指令",
  "2 to 32 characters: a-z, 0-9 and -": "2 到 32 个字符：a-z、0-9 和 -",
  "Title": "标题",
  "Text": "正文",
  "Cancel editing": "取消编辑",
  "Text read from the image": "从图片识别的文字",
  "User": "用户",
  "Assistant": "助手",
  "Agent": "客服",
  "System": "系统",
  "urgent": "紧急",
  "high": "高",
  "normal": "普通",
  "open": "待处理",
  "assigned": "处理中",
  "resolved": "已解决",
  "closed": "已关闭",
  "a recovery phrase (seed words)": "助记词",
  "a private key": "私钥",
  "a keystore file": "Keystore 文件",
  "a password": "密码",
  "the transaction hash": "交易哈希",
  "the wallet address": "钱包地址",
  "the e-mail address": "邮箱地址",
  "the conversation id": "会话 ID",
  "the app user id": "App 用户 ID",
  "Waiting for a first reply": "等待首次回复",
  "First reply due soon": "首次回复即将超时",
  "First reply late": "首次回复已超时",
  "Agents online": "在线客服",
  "By status": "按状态",
  "By priority": "按优先级",
  "By language": "按语言",
  "Priority": "优先级",
  "Problem": "问题",
  "Also mentioned": "还提到",
  "Self-help given": "已提供的自助方案",
  "Description": "描述",
  "Amount": "金额",
  "Asset": "资产",
  "Network": "网络",
  "Tx hash": "交易哈希",
  "Wallet address": "钱包地址",
  "When": "发生时间",
  "Error shown": "报错信息",
  "Screenshots": "截图",
  "Contact e-mail": "联系邮箱",
  "App user id": "App 用户 ID",
  "Escalation": "转人工原因",
  "Created": "创建时间",
  "Security": "安全",
  "Assets": "资产",
  "Account": "账户",
  "Trading": "交易",
  "Technical": "技术",
  "Rules & appeals": "规则与申诉",
  "User asked for a human": "用户要求人工",
  "Self-help did not solve it": "自助方案未解决",
  "Assistant did not understand twice": "助手两次未理解",
  "Security emergency": "安全紧急情况"
};
