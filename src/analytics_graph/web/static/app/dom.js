// A small element builder: h("td", { testid: "x", class: "n" }, "text", child, ...).

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "testid") element.dataset.testid = value;
    else if (name === "class") element.className = value;
    else if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? "" : value);
  }
  element.append(...children.flat().filter((c) => c !== null && c !== undefined));
  return element;
}

export function byTestId(root, testid) {
  return root.querySelector(`[data-testid="${testid}"]`);
}

/** Sets the text of the element with this test id, if the view has it. */
export function setText(root, testid, text) {
  const element = byTestId(root, testid);
  if (element) element.textContent = text;
}
