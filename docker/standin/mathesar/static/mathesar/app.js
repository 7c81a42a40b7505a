// Stand-in script: gives collectstatic and whitenoise a file to handle.
document.documentElement.dataset.standin = "1";
