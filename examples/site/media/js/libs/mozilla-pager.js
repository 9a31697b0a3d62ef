/* Mozilla.Pager: a tiny stand-in for a vendored library */
if (typeof window.Mozilla === 'undefined') {
    window.Mozilla = {};
}
window.Mozilla.Pager = window.Mozilla.Pager || {
    version: '3.6.3',
    ready: function (fn) {
        if (document.readyState !== 'loading') {
            fn();
        } else {
            document.addEventListener('DOMContentLoaded', fn);
        }
    }
};
