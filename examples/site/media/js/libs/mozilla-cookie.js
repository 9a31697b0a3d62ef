/* Mozilla.Cookies: a tiny stand-in for a vendored library */
if (typeof window.Mozilla === 'undefined') {
    window.Mozilla = {};
}
window.Mozilla.Cookies = window.Mozilla.Cookies || {
    version: '2.2.8',
    ready: function (fn) {
        if (document.readyState !== 'loading') {
            fn();
        } else {
            document.addEventListener('DOMContentLoaded', fn);
        }
    }
};
