"""Independent reference values for the examples/ worked examples (mpmath, 50 digits)."""
from mpmath import mp, mpf, sqrt, log, exp
mp.dps = 50
v = {}
v['pseudo_huber c=1 r=2'] = 1**2*(sqrt(1+(mpf(2)/1)**2)-1)
a=mpf('0.5'); x=mpf(2); c=1
v['barron a=.5 c=1 r=2'] = abs(a-2)/a*(((x/c)**2/abs(a-2)+1)**(a/2)-1)
v['geman r=1.5 c=2'] = mpf('1.5')**2/(mpf('1.5')**2+4)
v['welsch c=1 r=1'] = mpf(1)/2*(1-exp(-1))
v['cauchy c=2 r=3'] = mpf(4)/2*log(1+(mpf(3)/2)**2)
v['student nu=3 s=1 r=2'] = (mpf(3)+1)/2*log(1+mpf(4)/3)
c=mpf('4.685'); r=mpf(2)
v['tukey c=4.685 r=2'] = c**2/6*(1-(1-(r/c)**2)**3)
v['fair c=1 r=2'] = 1*(2 - log(1+2))
v['quantile tau=.9 y=3 yhat=1'] = max(mpf('0.9')*2, (mpf('0.9')-1)*2)
v['epsins eps=.5 r=2'] = max(0, 2-mpf('0.5'))
v['gamma y=2 z=.5'] = mpf('0.5') + 2*exp(-mpf('0.5'))
p=mpf('1.5'); y=2; z=mpf('0.3')
v['tweedie p=1.5 y=2 z=.3'] = -y*exp((1-p)*z)/(1-p) + exp((2-p)*z)/(2-p)
v['negbin th=2 y=3 z=1'] = (3+2)*log(2+exp(1)) - 3*1
v['invgauss y=2 z=.5'] = 2*exp(-1) - 2*exp(-mpf('0.5'))
v['poisson mu=2.5 y=3'] = mpf('2.5') - 3*log(mpf('2.5'))
v['msle yhat=3 y=1'] = (log(4)-log(2))**2
v['exp y=-1 f=.5'] = exp(mpf('0.5'))
v['logistic y=1 f=-2'] = log(1+exp(2))
q=mpf('0.7')
v['gce q=.7 y=1 p=.3'] = (1-mpf('0.3')**q)/q
v['modhuber y=1 f=-.5'] = max(0, 1-(-mpf('0.5')))**2
v['modhuber y=1 f=-3'] = -4*(-3)
for k, val in v.items():
    print(f"{k:32s} {mp.nstr(val, 12)}")
