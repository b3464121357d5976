// New-ticket form: put the knowledge-base suggestions (filled by htmx while the subject is typed,
// see knowledge/_suggest_slot.html) right under the subject field, where the eye is.
(function () {
  "use strict";
  var box = document.getElementById("kb-suggest");
  var subject = document.getElementById("id_subject");
  var field = subject && subject.closest(".mb-3");
  if (box && field && field.nextSibling !== box) {
    field.after(box);
  }
})();
