// The "not found" page (web/404.html, served for any address nothing is at): its words in the
// reader's language, and the language switcher.

import { reportUncaughtErrors, setupLanguage } from "./ui.js";

setupLanguage();
reportUncaughtErrors();
