/* Mozilla.Utils: a tiny stand-in for a vendored library */
if (typeof window.Mozilla === 'undefined') {
    window.Mozilla = {};
}
window.Mozilla.Utils = window.Mozilla.Utils || {
    version: '1.0.2',
    ready: function (fn) {
        if (document.readyState !== 'loading') {
            fn();
        } else {
            document.addEventListener('DOMContentLoaded', fn);
        }
    }
};
